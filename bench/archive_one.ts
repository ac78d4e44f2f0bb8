// Times one release archive the way `vox ci release-build` makes it: read, tar+gzip (deterministic), sha256,
// write beside then rename. Run under Bun, as release-build is.
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { packExecutable } from "../archive/mod.ts";
import { sha256Hex } from "../integrity/mod.ts";
import { writeFileAtomic } from "../io/mod.ts";

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error("usage: archive_one.ts <executable> <archive.tar.gz>");
const archive = packExecutable("tar.gz", { name: basename(input), data: await readFile(input), mtime: 1_700_000_000 });
await writeFileAtomic(output, archive);
console.log(`${sha256Hex(archive)}  ${basename(output)}`);
