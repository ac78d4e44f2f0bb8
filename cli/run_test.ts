import assert from "node:assert/strict";
import { test } from "node:test";
import { VoxError } from "../errors/mod.ts";
import { bufferOutput, fixedClock, mapEnv, nodeSpawner } from "../io/mod.ts";
import type { CommandSpec, ParsedArgs } from "./command.ts";
import { runCli } from "./run.ts";

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
