import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { mapEnv } from "../io/mod.ts";
import { type DownloadDeps, downloadToFile, parseRetryAfter } from "./download.ts";
import { proxyFor } from "./transport.ts";

const body = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 251));
const sha = createHash("sha256").update(body).digest("hex");

/** A loopback server whose routes inject one fault each; requests are recorded. */
function faultServer(): { server: Server; requests: IncomingMessage[]; counters: Map<string, number> } {
  const requests: IncomingMessage[] = [];
  const counters = new Map<string, number>();
  const server = createServer((req, res: ServerResponse) => {
    requests.push(req);
    // Counted per URL, routed by path: a query string gives a route's faults afresh.
    const count = (counters.get(req.url ?? "") ?? 0) + 1;
    counters.set(req.url ?? "", count);
    const path = (req.url ?? "").split("?")[0];
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    const send = (bytes: Buffer, status = 200) => {
      res.writeHead(status, { "content-length": bytes.length, "accept-ranges": "bytes", etag: '"v1"', ...(status === 206 ? { "content-range": `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
      res.end(bytes);
    };
    switch (path) {
      case "/ok":
        return send(body);
      case "/flipped": {
        const copy = Buffer.from(body);
        copy[1234]! ^= 1;
        return send(copy);
      }
      case "/reset-then-resume":
        if (count === 1) {
          res.writeHead(200, { "content-length": body.length, "accept-ranges": "bytes", etag: '"v1"' });
          res.write(body.subarray(0, 70_000));
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        }
        return send(body.subarray(start), start > 0 ? 206 : 200);
      case "/503-then-ok":
        if (count === 1) return void res.writeHead(503).end("busy");
        return send(body);
      case "/429":
        if (count === 1) return void res.writeHead(429, { "retry-after": "3" }).end();
        return send(body);
      case "/huge":
        res.writeHead(200, { "content-length": String(10 * 1024 * 1024 * 1024) });
        return void res.end();
      case "/drip":
        res.writeHead(200, { "content-length": body.length });
        res.write(body.subarray(0, 10));
        return;
      case "/chunked":
        res.writeHead(200);
        return void res.end(body);
      case "/404":
        return void res.writeHead(404).end();
      case "/gzipped":
        res.writeHead(200, { "content-length": 10, "content-encoding": "gzip" });
        return void res.end(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]));
      case "/to-file":
        return void res.writeHead(302, { location: "file:///etc/passwd" }).end();
      case "/to-s3":
        return void res.writeHead(302, { location: "s3://bucket/vox.tar.gz" }).end();
      case "/to-other":
        return void res.writeHead(302, { location: `http://127.0.0.1:${(other.address() as AddressInfo).port}/ok` }).end();
      default:
        return void res.writeHead(500).end();
    }
  });
  return { server, requests, counters };
}

const main = faultServer();
const other = faultServer().server;
const otherRequests: IncomingMessage[] = [];
other.on("request", (req) => otherRequests.push(req));
let base = "";
const slept: number[] = [];
const deps: DownloadDeps = { fetch: (url, init) => fetch(url, init), sleep: async (ms) => void slept.push(ms) };
const dir = mkdtempSync(join(tmpdir(), "vox-download-"));

before(async () => {
  await new Promise<void>((resolve) => main.server.listen(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(main.server.address() as AddressInfo).port}`;
});
after(() => {
  main.server.closeAllConnections();
  other.closeAllConnections();
  main.server.close();
  other.close();
});

describe("downloadToFile()", () => {
  test("streams to the destination and verifies the expected sha256", async () => {
    const result = await downloadToFile(`${base}/ok`, join(dir, "ok"), { maxBytes: 1 << 20, expectedSha256: sha }, deps);
    assert.deepEqual([result.sha256, result.size, result.attempts], [sha, body.length, 1]);
    assert.ok(readFileSync(join(dir, "ok")).equals(body));
  });

  test("refuses one flipped byte, leaving neither the destination nor a temp file", async () => {
    const target = join(mkdtempSync(join(tmpdir(), "vox-dl-")), "asset");
    await assert.rejects(downloadToFile(`${base}/flipped`, target, { maxBytes: 1 << 20, expectedSha256: sha }, deps), (e: Error & { code?: string }) => e.code === "E_DOWNLOAD_DIGEST" && e.message.includes(`expected ${sha}`));
    assert.ok(!existsSync(target));
    assert.deepEqual(readdirSync(join(target, "..")), []);
  });

  test("resumes with Range after the connection is reset mid-body", async () => {
    const result = await downloadToFile(`${base}/reset-then-resume`, join(dir, "resumed"), { maxBytes: 1 << 20, expectedSha256: sha }, deps);
    assert.equal(result.attempts, 2);
    const retried = main.requests.filter((r) => r.url === "/reset-then-resume")[1]!;
    assert.match(retried.headers.range ?? "", /^bytes=\d+-$/);
    assert.notEqual(retried.headers.range, "bytes=0-");
    assert.equal(retried.headers["if-range"], '"v1"');
    assert.ok(readFileSync(join(dir, "resumed")).equals(body));
  });

  test("retries a 503 with backoff and honours Retry-After on a 429", async () => {
    slept.length = 0;
    assert.equal((await downloadToFile(`${base}/503-then-ok`, join(dir, "a"), { maxBytes: 1 << 20, backoffMs: 250 }, deps)).attempts, 2);
    assert.deepEqual(slept, [250]);
    slept.length = 0;
    assert.equal((await downloadToFile(`${base}/429`, join(dir, "b"), { maxBytes: 1 << 20 }, deps)).attempts, 2);
    assert.deepEqual(slept, [3000]);
  });

  test("refuses a declared size over the cap at once, without retrying", async () => {
    const before = main.counters.get("/huge") ?? 0;
    await assert.rejects(downloadToFile(`${base}/huge`, join(dir, "huge"), { maxBytes: 1 << 20 }, deps), /10737418240 bytes, over the 1048576-byte limit/);
    assert.equal(main.counters.get("/huge"), before + 1);
  });

  test("times out a slow drip with the idle timeout, separately from the connect timeout", async () => {
    await assert.rejects(downloadToFile(`${base}/drip`, join(dir, "drip"), { maxBytes: 1 << 20, idleTimeoutMs: 150, connectTimeoutMs: 5000, retries: 1 }, deps), (e: Error & { code?: string }) => e.code === "E_DOWNLOAD_TIMEOUT" && /no data for/.test(e.message));
    assert.equal(main.counters.get("/drip"), 2);
  });

  test("does not retry a 404, and says what to check", async () => {
    await assert.rejects(downloadToFile(`${base}/404`, join(dir, "nf"), { maxBytes: 1 << 20 }, deps), (e: Error & { code?: string; hint?: string; status?: number }) => e.status === 404 && /base URL/.test(e.hint ?? ""));
    assert.equal(main.counters.get("/404"), 1);
  });

  test("drops the Authorization header when a redirect leaves the host", async () => {
    await downloadToFile(`${base}/to-other`, join(dir, "other"), { maxBytes: 1 << 20, headers: { authorization: "Bearer secret" }, expectedSha256: sha }, deps);
    assert.equal(main.requests.at(-1)!.headers.authorization, "Bearer secret");
    assert.equal(otherRequests.at(-1)!.headers.authorization, undefined);
  });

  test("asks for identity encoding and refuses an encoded body at once instead of retrying it as truncated", async () => {
    await assert.rejects(downloadToFile(`${base}/gzipped`, join(dir, "gz"), { maxBytes: 1 << 20 }, deps), (e: Error & { code?: string }) => e.code === "E_DOWNLOAD_ENCODING" && /Content-Encoding: gzip/.test(e.message));
    assert.equal(main.counters.get("/gzipped"), 1);
    assert.equal(main.requests.find((r) => r.url === "/gzipped")!.headers["accept-encoding"], "identity");
  });

  test("follows redirects only to http(s): file: and s3: targets are refused, and so is a file: URL to start with", async () => {
    for (const path of ["/to-file", "/to-s3"]) {
      await assert.rejects(downloadToFile(`${base}${path}`, join(dir, "scheme"), { maxBytes: 1 << 20 }, deps), (e: Error & { code?: string }) => e.code === "E_DOWNLOAD_INSECURE_REDIRECT" && /redirects to a (file|s3): URL/.test(e.message));
    }
    await assert.rejects(downloadToFile("file:///etc/passwd", join(dir, "scheme"), { maxBytes: 1 << 20 }, deps), (e: Error & { code?: string }) => e.code === "E_DOWNLOAD_SCHEME");
    assert.ok(!existsSync(join(dir, "scheme")));
  });

  test("refuses a redirect from https to http", async () => {
    const redirecting: DownloadDeps = {
      fetch: async () => new Response(null, { status: 302, headers: { location: "http://evil.test/vox.tar.gz" } }),
      sleep: async () => {},
    };
    await assert.rejects(downloadToFile("https://releases.test/vox.tar.gz", join(dir, "insecure"), { maxBytes: 1 << 20 }, redirecting), (e: Error & { code?: string }) => e.code === "E_DOWNLOAD_INSECURE_REDIRECT" && e.message.includes("from https to http"));
  });
});

test("parseRetryAfter() reads seconds and HTTP dates", () => {
  assert.equal(parseRetryAfter("120"), 120);
  assert.equal(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 1)).toUTCString(), Date.UTC(2030, 0, 1)), 60);
  assert.equal(parseRetryAfter("soon"), undefined);
  assert.equal(parseRetryAfter(null), undefined);
});

test("proxyFor() applies HTTPS_PROXY unless NO_PROXY matches the host", () => {
  const env = mapEnv({ HTTPS_PROXY: "http://proxy:3128", NO_PROXY: "localhost,.internal.test,mirror.corp:8443" });
  assert.equal(proxyFor("https://github.com/x", env), "http://proxy:3128");
  assert.equal(proxyFor("https://a.internal.test/x", env), undefined);
  assert.equal(proxyFor("https://mirror.corp/x", env), undefined);
  assert.equal(proxyFor("http://github.com/x", env), undefined, "HTTPS_PROXY is for https URLs only");
  assert.equal(proxyFor("https://x.test/", mapEnv({ https_proxy: "http://p:1", no_proxy: "*" })), undefined);
});

/** The contract of runtime/'s native writer, kept portable: the body into the descriptor from its start, plus `extra` stray bytes. */
function portableWriter(calls: string[], extra = 0): NonNullable<DownloadDeps["writeBody"]> {
  return async (stream, fd) => {
    calls.push("writeBody");
    let written = 0;
    for await (const chunk of stream) written += writeSync(fd, chunk, 0, chunk.length, written);
    return written + (extra > 0 ? writeSync(fd, new Uint8Array(extra), 0, extra, written) : 0);
  };
}

describe("downloadToFile() with a body writer (Bun's own, behind runtime/)", () => {
  test("hands a declared-length body to the writer and hashes what landed", async () => {
    const calls: string[] = [];
    const progress: number[] = [];
    const result = await downloadToFile(`${base}/ok`, join(dir, "written"), { maxBytes: 1 << 20, expectedSha256: sha, onProgress: (n) => progress.push(n) }, { ...deps, writeBody: portableWriter(calls) });
    assert.deepEqual([result.sha256, result.size, calls], [sha, body.length, ["writeBody"]]);
    assert.equal(progress.at(-1), body.length);
    assert.ok(readFileSync(join(dir, "written")).equals(body));
  });

  test("reads a body of undeclared length chunk by chunk instead, so that the cap still counts every byte", async () => {
    const calls: string[] = [];
    const result = await downloadToFile(`${base}/chunked`, join(dir, "chunked"), { maxBytes: 1 << 20, expectedSha256: sha }, { ...deps, writeBody: portableWriter(calls) });
    assert.deepEqual([result.sha256, calls], [sha, []]);
    await assert.rejects(downloadToFile(`${base}/chunked`, join(dir, "chunked-capped"), { maxBytes: 1000 }, { ...deps, writeBody: portableWriter(calls) }), (e: Error & { code?: string }) => e.code === "E_DOWNLOAD_TOO_LARGE" && /passed the 1000-byte limit/.test(e.message));
    assert.deepEqual(calls, []);
  });

  test("keeps what a cut-off writer wrote, hashed, and resumes after it with Range", async () => {
    const calls: string[] = [];
    const result = await downloadToFile(`${base}/reset-then-resume?writer`, join(dir, "written-resumed"), { maxBytes: 1 << 20, expectedSha256: sha }, { ...deps, writeBody: portableWriter(calls) });
    assert.deepEqual([result.attempts, calls], [2, ["writeBody"]]);
    const retried = main.requests.filter((r) => r.url === "/reset-then-resume?writer")[1]!;
    assert.match(retried.headers.range ?? "", /^bytes=[1-9]\d*-$/);
    assert.ok(readFileSync(join(dir, "written-resumed")).equals(body));
  });

  test("times out a writer whose file stops growing, and aborts the request", async () => {
    await assert.rejects(
      downloadToFile(`${base}/drip`, join(dir, "written-drip"), { maxBytes: 1 << 20, idleTimeoutMs: 150, retries: 0 }, { ...deps, writeBody: portableWriter([]) }),
      (e: Error & { code?: string }) => e.code === "E_DOWNLOAD_TIMEOUT" && /no data for 0\.15 s/.test(e.message),
    );
    assert.ok(!existsSync(join(dir, "written-drip")));
  });

  test("refuses a writer that wrote past the declared length, without retrying, leaving nothing", async () => {
    const target = join(mkdtempSync(join(tmpdir(), "vox-dl-")), "asset");
    await assert.rejects(downloadToFile(`${base}/ok`, target, { maxBytes: 1 << 20 }, { ...deps, writeBody: portableWriter([], 7) }), (e: Error & { code?: string }) => e.code === "E_DOWNLOAD_TOO_LARGE" && /passed its declared 200000 bytes/.test(e.message));
    assert.deepEqual(readdirSync(join(target, "..")), []);
  });
});
