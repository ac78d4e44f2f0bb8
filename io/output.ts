/** Where a command writes: data to stdout, messages to stderr; each call writes whole lines. */
export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stderr is an interactive terminal (progress bars, colour). */
  readonly interactive: boolean;
}

/**
 * The real streams, written through `console` rather than `process.stdout`: in Bun, merely touching the
 * process streams costs about 8 ms of start-up (measured), more than the rest of `vox --version`.
 */
export function processOutput(): Output {
  return {
    stdout: (text) => console.log("%s", withoutFinalNewline(text)),
    stderr: (text) => console.error("%s", withoutFinalNewline(text)),
    get interactive() {
      return Boolean(process.stderr.isTTY);
    },
  };
}

function withoutFinalNewline(text: string): string {
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}

/** An output that records what was written, for tests. */
export function bufferOutput(): Output & { out: string; err: string } {
  const sink = {
    out: "",
    err: "",
    interactive: false,
    stdout(text: string) {
      sink.out += text;
    },
    stderr(text: string) {
      sink.err += text;
    },
  };
  return sink;
}
