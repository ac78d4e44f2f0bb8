// What only Bun offers, used where a measurement showed the win; each caller keeps a portable path for Node and Deno.
// Owns a response body written into a file by Bun itself and a file's first bytes read through Bun.file.

interface BunFiles {
  file(pathOrFd: string | number): Blob;
  write(destination: unknown, input: Response): Promise<number>;
}

function bun(): BunFiles | undefined {
  return (globalThis as { Bun?: BunFiles }).Bun;
}

/** Writes a body into an open file from its start, outside JavaScript; resolves to the bytes written. */
export type BodyWriter = (body: ReadableStream<Uint8Array>, fd: number) => Promise<number>;

/**
 * Bun's native writer (`Bun.write` of a Response into the file's descriptor), or undefined elsewhere. A body read
 * chunk by chunk in JavaScript leaves each chunk to the collector: downloading a 53 MB release archive that way
 * peaked at 53-65 MiB, this way at 37 MiB. The caller times it (by the file it fills) and aborts it (by the request).
 */
export function nativeBodyWriter(): BodyWriter | undefined {
  const runtime = bun();
  if (runtime === undefined) return undefined;
  return (body, fd) => runtime.write(runtime.file(fd), new Response(body));
}

/**
 * Under Bun, the first `length` bytes of a file through `Bun.file`; undefined elsewhere. `vox policy` reads its own
 * header as it starts, and loading node:fs/promises would cost it more than everything else it does.
 */
export async function nativeFileHead(path: string, length: number): Promise<Uint8Array | undefined> {
  const runtime = bun();
  return runtime === undefined ? undefined : new Uint8Array(await runtime.file(path).slice(0, length).arrayBuffer());
}
