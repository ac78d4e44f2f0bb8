/** Where a command writes: data to stdout, messages to stderr. */
export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
  /** True when stderr is an interactive terminal (progress bars, colour). */
  readonly interactive: boolean;
}

export function processOutput(): Output {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    interactive: Boolean(process.stderr.isTTY),
  };
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
