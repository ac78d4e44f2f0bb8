import { request } from "node:http";
import { connect } from "node:net";
import type { HealthCheck, HealthTiming } from "../platform/mod.ts";

/** One probe's outcome, in words a user can act on ("HTTP 500 from GET /health", "connection refused"). */
export interface ProbeResult {
  ok: boolean;
  detail: string;
}

export interface HealthSeams {
  /** One attempt of the check, bounded by its timeout. */
  probe(): Promise<ProbeResult>;
  /** Null while the process runs; else why it is gone ("exited", "killed: out of memory"). */
  gone(): Promise<string | null>;
  now(): number;
  sleep(ms: number): Promise<void>;
}

export type HealthVerdict = { healthy: true; probes: number; last: ProbeResult } | { healthy: false; probes: number; last: ProbeResult | null; reason: string };

/**
 * Waits until the instance is healthy, as Docker counts it: a probe at once and then every interval; a success is
 * healthy; a failure inside the start period does not count; `retries` failures in a row after it are unhealthy. An
 * instance whose process is gone is unhealthy at once (with why), whatever the check says.
 *
 * @example
 * ```ts
 * const verdict = await waitHealthy(manifest.health, { probe, gone, now: Date.now, sleep });
 * if (!verdict.healthy) console.error(verdict.reason);
 * ```
 */
export async function waitHealthy(timing: HealthTiming, seams: HealthSeams): Promise<HealthVerdict> {
  const started = seams.now();
  let failures = 0;
  let probes = 0;
  let last: ProbeResult | null = null;
  for (;;) {
    const gone = await seams.gone();
    if (gone !== null) return { healthy: false, probes, last, reason: gone };
    last = await seams.probe();
    probes += 1;
    if (last.ok) return { healthy: true, probes, last };
    if (seams.now() - started >= timing.start_period_ms) failures += 1;
    if (failures >= timing.retries) return { healthy: false, probes, last, reason: `${failures} failed check${failures === 1 ? "" : "s"} in a row` };
    await seams.sleep(timing.interval_ms);
  }
}

/** Where an instance answers: its bridge address (checks run from the host side), and how to exec in it. */
export interface ProbeTarget {
  address: string;
  exec(argv: readonly string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }>;
}

/**
 * The manifest's check as a probe: http GET from the host to the instance's address (2xx and 3xx pass, as in
 * Kubernetes), a tcp connect, or the command run inside with `runc exec` (exit 0 passes).
 *
 * @example
 * ```ts
 * const result = await probeFor({ kind: "tcp", port: 8080, ...timing }, target)(); // { ok: true, detail: "connected to 10.77.3.2:8080" }
 * ```
 */
export function probeFor(check: HealthCheck, target: ProbeTarget): () => Promise<ProbeResult> {
  const timeout = check.timeout_ms;
  if (check.kind === "exec") {
    return async () => {
      const result = await target.exec(check.command, timeout);
      if (result.timedOut) return { ok: false, detail: `${check.command.join(" ")} did not finish within ${timeout} ms` };
      const output = (result.stdout + result.stderr).trim().split("\n").at(-1) ?? "";
      return { ok: result.code === 0, detail: `${check.command.join(" ")} exited ${result.code}${output ? `: ${output}` : ""}` };
    };
  }
  if (check.kind === "tcp") return () => tcpProbe(target.address, check.port, timeout);
  return () => httpProbe(target.address, check.port, check.path, timeout);
}

function httpProbe(host: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  const what = `GET http://${host}:${port}${path}`;
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: "GET", timeout: timeoutMs, agent: false, headers: { "user-agent": "vox-health" } }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve({ ok: status >= 200 && status < 400, detail: `${what}: HTTP ${status}` });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (error: NodeJS.ErrnoException) => resolve({ ok: false, detail: `${what}: ${error.code ?? error.message}` }));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.on("connect", () => {
      socket.destroy();
      resolve({ ok: true, detail: `connected to ${host}:${port}` });
    });
    socket.on("timeout", () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    socket.on("error", (error: NodeJS.ErrnoException) => resolve({ ok: false, detail: `connect ${host}:${port}: ${error.code ?? error.message}` }));
  });
}
