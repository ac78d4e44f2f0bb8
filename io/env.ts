/** Read-only view of environment variables. */
export interface Env {
  get(name: string): string | undefined;
}

/** The real process environment; empty strings read as unset. */
export function processEnv(): Env {
  return { get: (name) => nonEmpty(process.env[name]) };
}

/** An environment backed by a plain object, for tests and for child-process overrides. */
export function mapEnv(values: Record<string, string | undefined>): Env {
  return { get: (name) => nonEmpty(Object.hasOwn(values, name) ? values[name] : undefined) };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
