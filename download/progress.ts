import type { Output } from "../io/mod.ts";

/**
 * A progress callback that redraws one line on stderr, only when stderr is a terminal (never in logs or pipes).
 * Redraws at most every 100 ms.
 */
export function progressReporter(label: string, out: Output, write: (text: string) => void = (t) => void process.stderr.write(t)): ((received: number, total: number | undefined) => void) | undefined {
  if (!out.interactive) return undefined;
  let last = 0;
  return (received, total) => {
    const now = Date.now();
    if (now - last < 100 && received !== total) return;
    last = now;
    const mib = (n: number) => (n / 1048576).toFixed(1);
    const bar = total ? `[${"#".repeat(Math.round((received / total) * 20)).padEnd(20)}] ${mib(received)}/${mib(total)} MiB` : `${mib(received)} MiB`;
    write(`\r${label} ${bar}${received === total ? "\n" : ""}`);
  };
}
