/** Wall-clock time, injectable so that expiry and timestamps are testable. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock frozen at `date`. */
export function fixedClock(date: Date): Clock {
  return { now: () => new Date(date.getTime()) };
}
