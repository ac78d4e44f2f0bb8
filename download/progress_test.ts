import assert from "node:assert/strict";
import { test } from "node:test";
import { bufferOutput } from "../io/mod.ts";
import { progressReporter } from "./progress.ts";

test("progressReporter() draws nothing unless stderr is a terminal", () => {
  assert.equal(progressReporter("downloading", bufferOutput()), undefined);
});

test("progressReporter() redraws one line with a bar on a terminal and ends it when the download completes", () => {
  const written: string[] = [];
  const report = progressReporter("downloading", { ...bufferOutput(), interactive: true }, (text) => written.push(text))!;
  report(0, 4 << 20);
  report(4 << 20, 4 << 20);
  assert.equal(written[0], `\rdownloading [${" ".repeat(20)}] 0.0/4.0 MiB`);
  assert.equal(written.at(-1), `\rdownloading [${"#".repeat(20)}] 4.0/4.0 MiB\n`);
});
