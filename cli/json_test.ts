import assert from "node:assert/strict";
import { test } from "node:test";
import { conventionProblems, renderJson, snakeCase, snakeKeys } from "./json.ts";

test("snakeCase() renames camelCase field names only: data keys with dots, dashes, capitals or digits first stay", () => {
  assert.deepEqual(["indexDigest", "memMib", "diffIds", "hostIP", "ok", "VOX_CACHE_DIR", "org.opencontainers.image.source", "x86_64-unknown-linux-gnu", "ExposedPorts"].map(snakeCase), ["index_digest", "mem_mib", "diff_ids", "host_ip", "ok", "VOX_CACHE_DIR", "org.opencontainers.image.source", "x86_64-unknown-linux-gnu", "ExposedPorts"]);
});

test("renderJson() puts schema first, renames at every depth, and copies env, annotations and labels as they are", () => {
  const text = renderJson("vox.thing/1", { indexDigest: "d", layers: [{ diffId: "x" }], env: { myVar: "1" }, annotations: { someKey: "v" }, config: { Labels: { fooBar: "b" } }, when: new Date(0) });
  assert.equal(text, '{"schema":"vox.thing/1","index_digest":"d","layers":[{"diff_id":"x"}],"env":{"myVar":"1"},"annotations":{"someKey":"v"},"config":{"Labels":{"fooBar":"b"}},"when":"1970-01-01T00:00:00.000Z"}\n');
  assert.deepEqual(conventionProblems(JSON.parse(text)), []);
});

test("conventionProblems() names each camelCase field by its path", () => {
  assert.deepEqual(conventionProblems({ ok: true, layers: [{ diffId: "x" }], env: { myVar: 1 } }), ["$.layers[0].diffId: not snake_case"]);
});

test("renderJson() writes what JSON.stringify writes of the renamed copy, compact and indented", () => {
  const document = {
    schema: "ignored: the argument names the schema",
    nested: { deepList: [1, "two", null, undefined, () => 0, { innerKey: [] }, []], emptyObject: {}, skipped: undefined, fn: () => 0 },
    labels: { keepMe: { stillCamel: true } },
    url: new URL("https://example.test/a b"),
    numbers: [0, -1.5, 1e21, Number.NaN, Number.POSITIVE_INFINITY],
    text: 'quote " backslash \\ newline \n tab \t nul \u0000 é',
    "123": "integer-like keys come first",
  };
  for (const indent of [undefined, 2, 4]) {
    const expected = `${JSON.stringify({ schema: "vox.thing/1", ...(snakeKeys({ ...document, schema: "vox.thing/1" }) as object) }, null, indent)}\n`;
    assert.equal(renderJson("vox.thing/1", { ...document, schema: "vox.thing/1" }, indent === undefined ? {} : { indent }), expected);
  }
});
