import assert from "node:assert/strict";
import { test } from "node:test";
import { BYTES_STRING, byteCount, CPU_STRING, cpuMillicores, cpuPrecisionProblem, DURATION, durationMs, formatBytes, formatDuration, POSITIVE_DURATION } from "./units.ts";

test("cpuMillicores() reads millicores, decimal cores and whole cores exactly", () => {
  for (const [text, millicores] of [["500m", 500], ["0.5", 500], ["2", 2000], ["0.3", 300], ["1.25", 1250], ["9999.999", 9_999_999], ["1m", 1]] as const) {
    assert.ok(CPU_STRING.test(text), text);
    assert.equal(cpuMillicores(text), millicores, text);
  }
  assert.equal(cpuMillicores(0.5), 500);
  assert.equal(cpuMillicores(0.3), 300);
  assert.equal(cpuMillicores(2), 2000);
});

test("CPU_STRING refuses zero, other suffixes, more than 3 decimals and signs", () => {
  for (const text of ["0", "0m", "0.000", "500M", "500mi", "1.5m", "0.0005", "-1", "+1", "1e3", " 1", "1 ", "10000", "10000000m", "m", "", ".5", "5."]) assert.ok(!CPU_STRING.test(text), text);
});

test("cpuPrecisionProblem() refuses numbers finer than a millicore instead of rounding them", () => {
  assert.equal(cpuPrecisionProblem(0.5), undefined);
  assert.equal(cpuPrecisionProblem(2), undefined);
  assert.equal(cpuPrecisionProblem(0.125), undefined);
  assert.match(cpuPrecisionProblem(0.0005)!, /finer than 1m.*accepted forms: "500m"/);
  assert.match(cpuPrecisionProblem(0.1 + 0.2)!, /finer than 1m/);
});

test("byteCount() reads decimal and binary suffixes and plain integers", () => {
  for (const [text, bytes] of [["512Mi", 512 * 2 ** 20], ["1G", 1e9], ["1Gi", 2 ** 30], ["1k", 1000], ["1Ki", 1024], ["3T", 3e12], ["2Ti", 2 * 2 ** 40], ["4096", 4096], ["999999999999999", 999_999_999_999_999]] as const) {
    assert.ok(BYTES_STRING.test(text), text);
    assert.equal(byteCount(text), bytes, text);
  }
  assert.equal(byteCount(4096), 4096);
});

test("BYTES_STRING refuses the spellings engines read differently (MB, m, K, b) and anything that could lose precision", () => {
  for (const text of ["512MB", "512m", "512mb", "1K", "1gb", "1.5Gi", "0", "0Mi", "-1Mi", "1 Gi", "Gi", "1Pi", "1E", "1000000000000000", "1000000000000k", "10000Ti", ""]) assert.ok(!BYTES_STRING.test(text), text);
});

test("durationMs() reads h, m, s and ms in that order", () => {
  for (const [text, ms] of [["10s", 10_000], ["500ms", 500], ["1m30s", 90_000], ["2h", 7_200_000], ["1h2m3s4ms", 3_723_004], ["0s", 0], ["90s", 90_000]] as const) {
    assert.ok(DURATION.test(text), text);
    assert.equal(durationMs(text), ms, text);
  }
});

test("DURATION refuses bare numbers, fractions, other units and a wrong order; POSITIVE_DURATION also refuses zero", () => {
  for (const text of ["10", "1.5s", "1s1m", "10S", "1d", "1us", "s", "", " 1s", "1m1m", "-1s", "1m 30s"]) assert.ok(!DURATION.test(text), text);
  for (const text of ["0s", "0ms", "0m0s", "0h"]) assert.ok(DURATION.test(text) && !POSITIVE_DURATION.test(text), text);
  for (const text of ["0m5s", "1ms", "10s"]) assert.ok(POSITIVE_DURATION.test(text), text);
});

test("formatBytes() and formatDuration() give the shortest accepted form, which reads back to the same value", () => {
  for (const bytes of [268_435_456, 1e9, 1500, 1, 3 * 2 ** 40]) assert.equal(byteCount(formatBytes(bytes)), bytes);
  assert.equal(formatBytes(268_435_456), "256Mi");
  for (const ms of [0, 500, 90_000, 3_723_004]) assert.equal(durationMs(formatDuration(ms)), ms);
  assert.equal(formatDuration(90_000), "1m30s");
});
