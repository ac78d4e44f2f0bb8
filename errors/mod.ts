// Errors by meaning: a stable `code` that callers branch on, a `hint` that tells users the next step.
// Owns the error type every layer throws and the exit-code table the CLI maps them to.

/** Exit codes shared by every command (SPEC section 11); commands document any others. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const;

export interface VoxErrorOptions {
  /** What the user should do next. */
  hint?: string;
  /** Process exit code when this error reaches `main`; defaults to 1 (2 for usage errors). */
  exitCode?: number;
  cause?: unknown;
}

/**
 * A failure with a stable machine-readable `code` and a human `hint`.
 *
 * @example
 * ```ts
 * const err = new VoxError("E_TARGET", "Cannot build target foo: not a supported triple", { hint: "Use one of …", exitCode: 2 });
 * err.code; // "E_TARGET"
 * ```
 */
export class VoxError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: string, message: string, options: VoxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "VoxError";
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? ExitCode.failure;
  }
}

/** A usage error: bad flags or arguments; exit code 2. */
export function usageError(code: string, message: string, hint?: string): VoxError {
  return new VoxError(code, message, { hint, exitCode: ExitCode.usage });
}

/** Renders an error for a terminal: message, hint, and the stack only when `debug` is set. */
export function formatError(error: unknown, debug: boolean): string {
  if (error instanceof VoxError) {
    const lines = [`error: ${error.message}`];
    if (error.hint) lines.push(`hint: ${error.hint}`);
    if (debug && error.stack) lines.push(error.stack);
    return lines.join("\n");
  }
  const message = error instanceof Error ? error.message : String(error);
  const lines = [`error: ${message}`];
  lines.push(debug && error instanceof Error && error.stack ? error.stack : "hint: set VOX_DEBUG=1 for a stack trace and report it as a bug");
  return lines.join("\n");
}

/** The exit code an error maps to. */
export function exitCodeOf(error: unknown): number {
  return error instanceof VoxError ? error.exitCode : ExitCode.failure;
}

/** The message of any thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
