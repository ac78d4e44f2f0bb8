// TLS end to end with the compiled vox-bootstrap (Bun): an extra CA bundle (VOX_CA_BUNDLE) is honoured, an
// unknown certificate is refused, and a redirect from https to plain http is refused.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server } from "node:https";
import { type AddressInfo, connect, createServer as createNetServer, type Server as NetServer } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runAsync, tempDir } from "./support/helpers.ts";
import { hostRelease } from "./support/releases.ts";

const TRIPLE = "x86_64-unknown-linux-gnu";
const release = hostRelease("v0.1.0");
const pki = tempDir("pki");
execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2", "-keyout", join(pki, "key.pem"), "-out", join(pki, "cert.pem")], { stdio: "ignore" });
const tools = tempDir("tools");
execFileSync("tar", ["-xzf", join(release.dir, `vox-bootstrap-v0.1.0-${TRIPLE}.tar.gz`), "-C", tools]);

let https: Server;
let proxy: NetServer;
let proxyUrl = "";
const tunnels: string[] = [];
let plain: ReturnType<typeof createHttpServer>;
let httpsUrl = "";
let plainUrl = "";

function serveRelease(path: string, res: import("node:http").ServerResponse): void {
  const name = /^\/releases\/download\/v0\.1\.0\/([^/]+)$/.exec(path)?.[1];
  const file = name && join(release.dir, name);
  if (!file || !existsSync(file)) return void res.writeHead(404).end();
  res.writeHead(200, { "content-length": statSync(file).size });
  createReadStream(file).pipe(res);
}

before(async () => {
  plain = createHttpServer((req, res) => serveRelease(req.url ?? "", res));
  https = createServer({ key: readFileSync(join(pki, "key.pem")), cert: readFileSync(join(pki, "cert.pem")) }, (req, res) => {
    const path = req.url ?? "";
    if (path.startsWith("/downgrade/")) return void res.writeHead(302, { location: `${plainUrl}${path.slice("/downgrade".length)}` }).end();
    serveRelease(path, res);
  });
  await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => https.listen(0, "127.0.0.1", r));
  // A minimal HTTP CONNECT proxy: records each tunnel's destination and pipes bytes both ways.
  proxy = createNetServer((client) => {
    client.once("data", (head) => {
      const target = /^CONNECT ([^ ]+) HTTP/.exec(head.toString("latin1"))?.[1];
      if (!target) return void client.end("HTTP/1.1 405 Method Not Allowed\r\n\r\n");
      tunnels.push(target);
      const [host, port] = target.split(":");
      const upstream = connect(Number(port), host!, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
    });
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  httpsUrl = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
});
after(() => {
  for (const server of [https, plain]) {
    server.closeAllConnections();
    server.close();
  }
  proxy.close();
});

function install(baseUrl: string, env: Record<string, string> = {}) {
  const home = tempDir("home");
  return runAsync(join(tools, "vox-bootstrap"), ["--install", "--base-url", baseUrl, "--version", "v0.1.0", "--no-modify-path", "--no-fallback"], { cwd: home, env: { PATH: process.env.PATH!, HOME: home, ...env } }).then((result) => ({ ...result, home }));
}

test("installs over https when VOX_CA_BUNDLE names the mirror's CA", async () => {
  const result = await install(`${httpsUrl}/releases`, { VOX_CA_BUNDLE: join(pki, "cert.pem") });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(execFileSync(join(result.home, ".vox", "bin", "vox"), ["--version"], { encoding: "utf8" }), "vox 0.1.0\n");
});

test("refuses a certificate no trusted CA vouches for", async () => {
  const result = await install(`${httpsUrl}/releases`);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /Cannot download https:\/\/127\.0\.0\.1:\d+\/releases\/download\/v0\.1\.0\/checksums\.txt: the server's certificate is not trusted/);
  assert.match(result.stderr, /hint: If this is your own mirror with a private CA, set VOX_CA_BUNDLE/);
  assert.ok(!existsSync(join(result.home, ".vox")));
});

test("refuses a redirect from https to http", async () => {
  const result = await install(`${httpsUrl}/downgrade/releases`, { VOX_CA_BUNDLE: join(pki, "cert.pem") });
  assert.equal(result.status, 1);
  assert.match(result.stderr, /it redirects from https to http \(http:\/\/127\.0\.0\.1:\d+\/releases\/download\/v0\.1\.0\/checksums\.txt\)/);
  assert.ok(!existsSync(join(result.home, ".vox")));
});

test("goes through HTTPS_PROXY with a CONNECT tunnel, and straight to hosts NO_PROXY lists", async () => {
  tunnels.length = 0;
  const port = new URL(httpsUrl).port;
  const proxied = await install(`${httpsUrl}/releases`, { VOX_CA_BUNDLE: join(pki, "cert.pem"), HTTPS_PROXY: proxyUrl });
  assert.equal(proxied.status, 0, proxied.stderr);
  assert.ok(tunnels.length >= 1, "the downloads go through the proxy (Bun keeps one tunnel alive for all of them)");
  assert.ok(tunnels.every((t) => t === `127.0.0.1:${port}`));
  tunnels.length = 0;
  const direct = await install(`${httpsUrl}/releases`, { VOX_CA_BUNDLE: join(pki, "cert.pem"), HTTPS_PROXY: proxyUrl, NO_PROXY: "localhost,127.0.0.1" });
  assert.equal(direct.status, 0, direct.stderr);
  assert.deepEqual(tunnels, []);
});
