import { VoxError } from "../errors/mod.ts";

/** A failed transfer: what was asked, what came back, and whether trying again can help (`temporary` alone drives retries). */
export class DownloadError extends VoxError {
  readonly url: string;
  readonly status: number | undefined;
  readonly temporary: boolean;
  /** Seconds the server asked us to wait (Retry-After), if it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: string, message: string, details: { url: string; status?: number; temporary: boolean; retryAfterSeconds?: number; hint?: string; cause?: unknown }) {
    super(code, message, { hint: details.hint, cause: details.cause });
    this.url = details.url;
    this.status = details.status;
    this.temporary = details.temporary;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

/** A URL fit for messages and logs: no userinfo, no query string (signed URLs carry credentials there). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    if (parsed.search) parsed.search = "?…";
    return parsed.toString();
  } catch {
    return "(invalid URL)";
  }
}
