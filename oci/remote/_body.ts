import { concat } from "../../archive/mod.ts";

/**
 * Reads a response body but never more than `max` bytes: a hostile or broken server cannot make us buffer
 * more than the size we expected. `overflow` says the body went on past `max` (the rest is cancelled, not read).
 */
export async function readLimited(response: { body: ReadableStream<Uint8Array> | null }, max: number): Promise<{ bytes: Uint8Array; overflow: boolean }> {
  if (!response.body) return { bytes: new Uint8Array(), overflow: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: concat(chunks), overflow: false };
    if (total + value.byteLength > max) {
      chunks.push(value.subarray(0, max - total));
      void reader.cancel().catch(() => {});
      return { bytes: concat(chunks), overflow: true };
    }
    chunks.push(value);
    total += value.byteLength;
  }
}
