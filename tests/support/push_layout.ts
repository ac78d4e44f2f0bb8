// `bun tests/support/push_layout.ts <layout dir> <registry/repository:tag>`: pushes the layout's first index entry
// over plain HTTP with the blob source `vox deploy build --push` uses, and prints the pushed digest. A real process
// whose peak RSS the push tests and the bench measure.
import { createFetch } from "../../download/mod.ts";
import { processEnv } from "../../io/mod.ts";
import { openLayout, parseReference } from "../../oci/mod.ts";
import { createRegistryClient, layoutBlobSource } from "../../oci/remote/mod.ts";

const [dir, reference] = process.argv.slice(2);
if (!dir || !reference) throw new Error("usage: push_layout.ts <layout dir> <registry/repository:tag>");
const layout = await openLayout(dir);
const root = (await layout.readIndex()).manifests[0];
if (!root) throw new Error(`${dir} has an empty index.json`);
const target = parseReference(reference);
const client = createRegistryClient({ fetch: createFetch(processEnv()), insecure: [target.registry] });
console.log(await client.pushImage(target, { root, source: layoutBlobSource(layout) }));
