// Release archives and layers: deterministic tar/gzip/zip writers over parallel deflate, and the single-executable
// extractor that install trusts. Owns archive byte formats only; which names and targets exist is the policy's business.

export { crc32, crc32Combine } from "./crc32.js";
export { type ExecutableFile, writeExecutableArchive } from "./executable_archive.ts";
export { type ExtractedEntry, extractSingleExecutable, type ExtractOptions } from "./extract.ts";
export { HashedFile } from "./hashed_file.ts";
export { CHUNK_SIZE, compressionWorkers, DeflatePool, DeflateStream, type DeflateSummary, gzipDeterministic, gzipStream } from "./parallel_deflate.ts";
export { concat, TAR_END, tarBytes, type TarEntry, tarHeader, type TarOwner, tarPadding } from "./tar_writer.ts";
export { type ZipEntry, zipLocalHeader, zipTail } from "./zip_writer.ts";
