/** Reads exact byte counts from an async stream of chunks without buffering more than one chunk ahead. */
export class ChunkReader {
  #pending: Uint8Array = new Uint8Array(0);
  #done = false;
  readonly #source: AsyncIterator<Uint8Array>;

  constructor(source: AsyncIterator<Uint8Array>) {
    this.#source = source;
  }

  /** The next `length` bytes; undefined at a clean end of stream; a short read yields what there was. */
  async exactly(length: number): Promise<Uint8Array | undefined> {
    if (length === 0) return new Uint8Array(0);
    const parts: Uint8Array[] = [];
    let have = 0;
    for await (const chunk of this.stream(length)) {
      parts.push(chunk);
      have += chunk.length;
    }
    if (have === 0) return undefined;
    if (parts.length === 1) return parts[0];
    const out = new Uint8Array(have);
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  /** Yields the next `length` bytes as they arrive (fewer if the stream ends first). */
  async *stream(length: number): AsyncGenerator<Uint8Array> {
    let remaining = length;
    while (remaining > 0) {
      if (this.#pending.length === 0) {
        if (this.#done) return;
        const next = await this.#source.next();
        if (next.done) {
          this.#done = true;
          return;
        }
        this.#pending = next.value instanceof Uint8Array ? next.value : new Uint8Array(next.value);
        continue;
      }
      const take = Math.min(remaining, this.#pending.length);
      yield this.#pending.subarray(0, take);
      this.#pending = this.#pending.subarray(take);
      remaining -= take;
    }
  }
}
