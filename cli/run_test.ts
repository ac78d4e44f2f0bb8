import assert from "node:assert/strict";
import { test } from "node:test";
import { VoxError } from "../errors/mod.ts";
import { bufferOutput, fixedClock, mapEnv, nodeSpawner } from "../io/mod.ts";
import type { CommandSpec, ParsedArgs } from "./command.ts";
import { parseOptions, runCli } from "./run.ts";

function fixture(seen: ParsedArgs[] = []): CommandSpec {
  return {
    name: "tool",
    summary: "test tool",
    load: async () => async () => {},
    subcommands: [
      {
        name: "echo",
        summary: "echo things",
        positionals: [{ name: "word", required: true }],
        options: { tag: { type: "string", multiple: true, description: "tags" }, loud: { type: "boolean", description: "loud" } },
        load: async () => async (args) => {
          seen.push(args);
          return args.flag("loud") ? 3 : 0;
        },
      },
      { name: "boom", summary: "fails", load: async () => async () => Promise.reject(new VoxError("E_BOOM", "Cannot boom: it broke", { hint: "try again" })) },
    ],
  };
}

function context(env: Record<string, string> = {}) {
  return { env: mapEnv(env), out: bufferOutput(), clock: fixedClock(new Date(0)), spawner: nodeSpawner, cwd: "/", execPath: process.execPath };
}

test("runCli() passes parsed options and positionals to the handler and returns its exit code", async () => {
  const seen: ParsedArgs[] = [];
  const ctx = context();
  assert.equal(await runCli(fixture(seen), ["echo", "hi", "--tag", "a", "--tag", "b", "--loud"], ctx), 3);
  assert.deepEqual(seen[0]!.positionals, ["hi"]);
  assert.deepEqual(seen[0]!.list("tag"), ["a", "b"]);
  assert.equal(seen[0]!.string("tag"), "b");
  assert.deepEqual(seen[0]!.path, ["echo"]);
});

test("runCli() rejects an unknown command with exit 2 and lists the known ones", async () => {
  const ctx = context();
  assert.equal(await runCli(fixture(), ["nope"], ctx), 2);
  assert.match(ctx.out.err, /Cannot run 'tool nope': no such command/);
  assert.match(ctx.out.err, /Commands: echo, boom/);
});

test("runCli() rejects an unknown option and a missing positional with exit 2", async () => {
  const a = context();
  assert.equal(await runCli(fixture(), ["echo", "x", "--nope"], a), 2);
  assert.match(a.out.err, /Unknown option '--nope'/);
  const b = context();
  assert.equal(await runCli(fixture(), ["echo"], b), 2);
  assert.match(b.out.err, /expected <word>, got 0/);
});

test("runCli() prints help on stdout with exit 0 for --help", async () => {
  const ctx = context();
  assert.equal(await runCli(fixture(), ["echo", "--help"], ctx), 0);
  assert.match(ctx.out.out, /^tool echo: echo things/);
  assert.match(ctx.out.out, /--tag <value>\s+tags \(repeatable\)/);
  assert.equal(ctx.out.err, "");
});

test("runCli() shows a VoxError's message and hint without a stack unless VOX_DEBUG=1", async () => {
  const quiet = context();
  assert.equal(await runCli(fixture(), ["boom"], quiet), 1);
  assert.equal(quiet.out.err, "error: Cannot boom: it broke\nhint: try again\n");
  const debug = context({ VOX_DEBUG: "1" });
  await runCli(fixture(), ["boom"], debug);
  assert.match(debug.out.err, /at /);
});

test("parseOptions() accepts and rejects what node:util parseArgs (strict) does, with the same values", async () => {
  const { parseArgs } = await import("node:util");
  const fc = (await import("fast-check")).default;
  const options = {
    tag: { type: "string", short: "t", multiple: true, description: "" },
    out: { type: "string", short: "o", description: "" },
    json: { type: "boolean", short: "j", description: "" },
    force: { type: "boolean", short: "f", description: "" },
  } as const;
  const token = fc.constantFrom("--tag", "--tag=", "--tag=x", "-t", "-tx", "--out", "--out=-", "-o", "-oy", "--json", "--json=1", "-j", "-f", "-jf", "-jt", "-fo", "-x", "--nope", "--", "-", "a", "-1", "--__proto__", "--toString", "--constructor");
  fc.assert(
    fc.property(fc.array(token, { maxLength: 6 }), (argv) => {
      let expected: { values: Record<string, unknown>; positionals: string[] } | undefined;
      try {
        expected = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as typeof expected;
      } catch {
        expected = undefined;
      }
      let actual: ReturnType<typeof parseOptions> | undefined;
      try {
        actual = parseOptions(argv, options);
      } catch {
        actual = undefined;
      }
      assert.equal(actual === undefined, expected === undefined, `argv ${JSON.stringify(argv)}`);
      if (actual && expected) {
        assert.deepEqual(Object.fromEntries(actual.values), { ...expected.values }, `argv ${JSON.stringify(argv)}`);
        assert.deepEqual(actual.positionals, expected.positionals, `argv ${JSON.stringify(argv)}`);
      }
    }),
    { numRuns: 3000 },
  );
});

test("parseOptions() says what is wrong: unknown option, missing value, value for a flag, a value that looks like an option", () => {
  const options = { tag: { type: "string", description: "" }, json: { type: "boolean", description: "" } } as const;
  assert.throws(() => parseOptions(["--nope"], options), /Unknown option '--nope'/);
  assert.throws(() => parseOptions(["--tag"], options), /Option '--tag <value>' argument missing/);
  assert.throws(() => parseOptions(["--json=yes"], options), /Option '--json' does not take an argument/);
  assert.throws(() => parseOptions(["--tag", "--json"], options), /'--json' looks like an option \(write --tag=--json if it is the value\)/);
  assert.deepEqual(parseOptions(["--tag=--json"], options).values.get("tag"), "--json");
});

test("runCli() relaunches before loading an I/O-bound invocation's handler, and only then", async () => {
  const events: string[] = [];
  const command: CommandSpec = {
    name: "tool",
    summary: "test tool",
    subcommands: [
      {
        name: "fetch",
        summary: "streams when asked",
        options: { stream: { type: "boolean", description: "stream" } },
        ioBound: (args) => args.flag("stream"),
        load: async () => {
          events.push("load");
          return async () => {};
        },
      },
    ],
  };
  const run = (argv: string[]) => runCli(command, argv, { ...context(), relaunchIoBound: () => void events.push("relaunch") });
  assert.equal(await run(["fetch", "--stream"]), 0);
  assert.deepEqual(events.splice(0), ["relaunch", "load"]);
  assert.equal(await run(["fetch"]), 0);
  assert.deepEqual(events.splice(0), ["load"]);
  assert.equal(await run(["fetch", "--stream", "--help"]), 0);
  assert.deepEqual(events.splice(0), []);
  assert.equal(await run(["fetch", "--stream", "--bogus"]), 2);
  assert.deepEqual(events.splice(0), [], "a usage error is reported by this process, not a relaunched one");
});
