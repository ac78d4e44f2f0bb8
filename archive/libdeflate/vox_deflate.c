// The WebAssembly face of libdeflate's compressor for archive/deflate_chunk.js: one compressor and one pair of
// buffers per instance, allocated once, so the instance's memory is fixed after vox_deflate_init.
#define FREESTANDING
#include "lib/utils.c"
#include "lib/deflate_compress.c"

extern unsigned char __heap_base;
static uintptr_t heap_top = (uintptr_t)&__heap_base;

/* Allocation only ever grows: the instance lives as long as its worker and allocates at init alone. */
static void *grow(size_t size)
{
	uintptr_t start = ALIGN(heap_top, 16);
	uintptr_t end = start + size;
	size_t have = __builtin_wasm_memory_size(0) * 65536;
	if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (size_t)-1)
		return NULL;
	heap_top = end;
	return (void *)start;
}

static void keep(void *ptr)
{
	(void)ptr;
}

static struct libdeflate_compressor *compressor;
static u8 *input;
static u8 *output;
static size_t output_capacity;

/* Makes a compressor at `level` for inputs up to `capacity` bytes; returns where to put the input, or 0. */
__attribute__((export_name("vox_deflate_init"))) u8 *vox_deflate_init(int level, size_t capacity)
{
	libdeflate_set_memory_allocator(grow, keep);
	compressor = libdeflate_alloc_compressor(level);
	output_capacity = compressor ? libdeflate_deflate_compress_bound(compressor, capacity) + 8 : 0;
	input = compressor ? grow(capacity) : NULL;
	output = input ? grow(output_capacity) : NULL;
	return output ? input : NULL;
}

/* Compresses the first `length` input bytes: a final stream, or one ending in a sync flush. Returns its size, or 0. */
__attribute__((export_name("vox_deflate"))) size_t vox_deflate(size_t length, int final)
{
	compressor->sync_flush = !final;
	return libdeflate_deflate_compress(compressor, input, length, output, output_capacity);
}

__attribute__((export_name("vox_deflate_output"))) u8 *vox_deflate_output(void)
{
	return output;
}
