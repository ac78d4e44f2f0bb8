// Audit events as JSON lines: what vox decided about an image (resolved, fetched, reused, verified, materialized,
// refused, deleted, launched, healthy, unhealthy, stopped), appended one whole line per write so concurrent writers never interleave.

export { type AuditEvent, type AuditKind, type AuditOutcome, type AuditSink, fileAuditSink, memoryAuditSink, nullAuditSink } from "./sink.ts";
