import assert from "node:assert/strict";
import { test } from "node:test";
import { type ProbeResult, waitHealthy } from "./health.ts";

/** A fake clock that sleeping advances, and probes that answer from a script. */
function seams(answers: boolean[], gone: Array<string | null> = []) {
  let now = 0;
  let call = 0;
  let checked = 0;
  return {
    probe: async (): Promise<ProbeResult> => ({ ok: answers[call++] ?? false, detail: `probe ${call}` }),
    gone: async () => gone[checked++] ?? null,
    now: () => now,
    sleep: async (ms: number) => void (now += ms),
  };
}

const timing = { interval_ms: 1000, timeout_ms: 500, retries: 3, start_period_ms: 0 };

test("waitHealthy() is healthy at the first passing probe", async () => {
  assert.deepEqual(await waitHealthy(timing, seams([false, true])), { healthy: true, probes: 2, last: { ok: true, detail: "probe 2" } });
});

test("waitHealthy() is unhealthy after retries failures in a row, with the last result", async () => {
  const verdict = await waitHealthy(timing, seams([false, false, false, true]));
  assert.deepEqual(verdict, { healthy: false, probes: 3, last: { ok: false, detail: "probe 3" }, reason: "3 failed checks in a row" });
});

test("waitHealthy() does not count failures inside the start period", async () => {
  const verdict = await waitHealthy({ ...timing, start_period_ms: 2500 }, seams([false, false, false, false, true]));
  assert.equal(verdict.healthy, true);
  assert.equal(verdict.probes, 5);
});

test("waitHealthy() is unhealthy at once when the process is gone, whatever the check would say", async () => {
  assert.deepEqual(await waitHealthy(timing, seams([true], ["killed: out of memory"])), { healthy: false, probes: 0, last: null, reason: "killed: out of memory" });
});
