// Times one release archive the way `vox ci release-build` makes it: streamed from the executable through tar,
// parallel deflate (VOX_COMPRESSION_WORKERS, default one worker per CPU up to 4) and sha256 into a file beside the
// target, then renamed. Run under Bun, as release-build is.
import { basename } from "node:path";
import { compressionWorkers, DeflatePool, writeExecutableArchive } from "../archive/mod.ts";

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error("usage: archive_one.ts <executable> <archive.tar.gz>");
const pool = new DeflatePool(compressionWorkers(process.env.VOX_COMPRESSION_WORKERS));
try {
  const { sha256 } = await writeExecutableArchive("tar.gz", { source: input, name: basename(input), mtime: 1_700_000_000 }, output, pool);
  console.log(`${sha256}  ${basename(output)}`);
} finally {
  await pool.close();
}
