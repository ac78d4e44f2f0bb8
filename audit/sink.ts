import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { VoxError } from "../errors/mod.ts";
import type { Clock } from "../io/mod.ts";
import { snakeKeys } from "../cli/json.ts";

export type AuditKind = "resolve" | "fetch" | "cache-hit" | "verify" | "materialize" | "refuse" | "delete" | "launch" | "healthy" | "unhealthy" | "stop";
export type AuditOutcome = "ok" | "refused" | "evicted" | "error";

/** One decision about an image; `time` is added by the sink. */
export interface AuditEvent {
  kind: AuditKind;
  /** The cache scope (workload) it concerns, when there is one. */
  scope: string | null;
  /** The reference as the user wrote it. */
  reference: string | null;
  /** The digest the event is about (a resolved index, a manifest, a blob). */
  digest: string | null;
  outcome: AuditOutcome;
  detail?: Record<string, unknown>;
}

export interface AuditSink {
  /** Adds `time` (from the clock seam) and appends the event as one JSON line, atomically. */
  record(event: AuditEvent): Promise<void>;
}

/** Discards events: the sink when no audit log is asked for. */
export const nullAuditSink: AuditSink = { record: async () => {} };

/**
 * Appends events to `path` as JSON lines (created 0600). Each line goes out in a single write() on a descriptor
 * opened with O_APPEND, so lines from concurrent writers (processes or threads) land whole, one after another;
 * a short write is an error rather than half a line followed by another writer's.
 *
 * @example
 * ```ts
 * const audit = fileAuditSink("/var/log/vox-audit.jsonl", systemClock);
 * await audit.record({ kind: "resolve", scope: "app", reference: "r.example/app:1", digest: "sha256:…", outcome: "ok" });
 * ```
 */
export function fileAuditSink(path: string, clock: Clock): AuditSink {
  return {
    async record(event) {
      const line = Buffer.from(`${JSON.stringify(auditLine(event, clock))}\n`);
      const handle = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600).catch((error: NodeJS.ErrnoException) => {
        throw new VoxError("E_AUDIT", `Cannot append to the audit log ${path}: ${error.code ?? error.message}`, { hint: "Point --audit or VOX_AUDIT_LOG at a file you can write", cause: error });
      });
      try {
        const { bytesWritten } = await handle.write(line, 0, line.length, null);
        if (bytesWritten !== line.length) throw new VoxError("E_AUDIT", `Cannot append to the audit log ${path}: only ${bytesWritten} of ${line.length} bytes were written`, { hint: "Check the free space of its file system" });
      } finally {
        await handle.close();
      }
    },
  };
}

/** Keeps events in memory (with their time), for tests and for commands that report what happened. */
export function memoryAuditSink(clock: Clock): AuditSink & { events: Array<AuditEvent & { schema: "vox.audit/1"; time: string }> } {
  const events: Array<AuditEvent & { schema: "vox.audit/1"; time: string }> = [];
  return { events, record: async (event) => void events.push(auditLine(event, clock)) };
}

function auditLine(event: AuditEvent, clock: Clock): AuditEvent & { schema: "vox.audit/1"; time: string } {
  // Details come from many callers in their TypeScript names; the log follows the one JSON convention.
  return { schema: "vox.audit/1", time: clock.now().toISOString(), ...event, ...(event.detail ? { detail: snakeKeys(event.detail) as Record<string, unknown> } : {}) };
}
