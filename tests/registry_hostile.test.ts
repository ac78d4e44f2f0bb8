// `vox lock` and `vox deploy build` against a registry that misbehaves on purpose: a scripted loopback proxy in
// front of Debian's docker-registry, plus foreign origins that record whatever credentials reach them.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, beforeEach, test } from "node:test";
import { pushBusyboxBase } from "./support/base_image.ts";
import { bun, repoRoot, runAsync, tempDir } from "./support/helpers.ts";
import { challenge, forward, type ScriptedServer, startScriptedServer } from "./support/hostile_registry.ts";
import { type RunningRegistry, startRegistry } from "./support/registry.ts";

const USER = "vox-ci";
const PASSWORD = "registry-password-7f3a";
const REFRESH_TOKEN = "refresh-token-91c2";
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;

let registry: RunningRegistry;
/** In front of `registry`: forwards everything unless a test scripts otherwise, and asks for USER:PASSWORD. */
let proxy: ScriptedServer;
/** Another origin (a storage, upload or token host): asks for its own bearer login and records what it gets. */
let foreign: ScriptedServer;
let pki: { cert: string; key: string; certPath: string };

/** The proxy's normal behaviour: Basic auth in front of the real registry, as a registry with htpasswd does. */
const honest = (req: Parameters<ScriptedServer["handle"]>[0], res: Parameters<ScriptedServer["handle"]>[1], body: Buffer) => {
  if (req.headers.authorization !== BASIC) {
    res.writeHead(401, { "www-authenticate": 'Basic realm="scripted"', "content-type": "application/json" }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
    return;
  }
  return forward(registry.host, req, res, body);
};

before(async () => {
  registry = await startRegistry();
  pushBusyboxBase(registry.host);
  proxy = await startScriptedServer(honest);
  foreign = await startScriptedServer((req, res) => {
    if (req.url?.startsWith("/token")) return void res.writeHead(200, { "content-type": "application/json" }).end('{"token":"foreign-token"}');
    challenge(res, `${foreign.url}/token`);
  });
  const dir = tempDir("hostile-pki");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
  pki = { cert: readFileSync(join(dir, "cert.pem"), "utf8"), key: readFileSync(join(dir, "key.pem"), "utf8"), certPath: join(dir, "cert.pem") };
});

after(async () => {
  await proxy?.stop();
  await foreign?.stop();
  await registry?.stop();
});

beforeEach(() => {
  proxy.handle = honest;
  proxy.seen.length = 0;
  foreign.seen.length = 0;
});

/** examples/hello in a fresh directory, with its own empty cache. */
function project(): string {
  const dir = join(tempDir("hostile-project"), "hello");
  cpSync(join(repoRoot, "examples", "hello"), dir, { recursive: true });
  return dir;
}

/** A Docker config that logs in to the proxy: with a password, or with an identity (refresh) token. */
function dockerConfig(entry: Record<string, string> = { auth: Buffer.from(`${USER}:${PASSWORD}`).toString("base64") }): string {
  const dir = tempDir("docker-config");
  writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: { [proxy.host]: entry } }));
  return dir;
}

/** vox from source under Bun; docker.io is read through the proxy unless `env` says otherwise. */
function vox(args: readonly string[], cwd: string, env: Record<string, string> = {}) {
  return runAsync(bun, [join(repoRoot, "main.ts"), ...args], {
    cwd,
    env: { ...process.env, VOX_REGISTRY_MIRRORS: `docker.io=http://${proxy.host}`, VOX_CACHE_DIR: tempDir("hostile-cache"), DOCKER_CONFIG: dockerConfig(), ...env },
  });
}

/** The requests `server` saw that carried the password or the refresh token, in a header, the query or the body. */
function leaks(server: ScriptedServer): string[] {
  const secret = new RegExp(`${BASIC.slice("Basic ".length)}|${PASSWORD}|${REFRESH_TOKEN}`);
  return server.seen.filter((s) => secret.test(`${s.authorization ?? ""} ${s.path} ${s.body}`)).map((s) => `${s.method} ${s.path}`);
}

const isBlobGet = (req: { method?: string; url?: string }) => req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "");

test("a blob redirected to a storage host that asks for its own login fails; the registry's password never goes there", async () => {
  proxy.handle = (req, res, body) => {
    if (isBlobGet(req) && req.headers.authorization === BASIC) return void res.writeHead(307, { location: `${foreign.url}/storage/blob` }).end();
    return honest(req, res, body);
  };
  const result = await vox(["deploy", "build", "--output", `oci:${tempDir("hostile-out")}`], project());
  assert.equal(result.status, 1, result.stderr);
  assert.ok(foreign.seen.some((s) => s.path === "/storage/blob"), "the redirect was followed to the storage host");
  assert.deepEqual(leaks(foreign), []);
  assert.equal(foreign.seen.filter((s) => s.path.startsWith("/token")).length, 0, "no token was asked of the storage host");
  assert.match(result.stderr, new RegExp(`error: Cannot read blob sha256:[0-9a-f]{64} from ${proxy.host}/library/busybox: ${foreign.url}.* asked for credentials`));
  assert.doesNotMatch(result.stderr, /report it as a bug/);
});

test("an upload location on another origin that asks for its own login fails the push; the password never goes there", async () => {
  proxy.handle = (req, res, body) => {
    if (req.method === "POST" && req.url?.includes("/blobs/uploads/") && req.headers.authorization === BASIC) {
      return void res.writeHead(202, { location: `${foreign.url}/upload/session-1?_state=opaque` }).end();
    }
    return honest(req, res, body);
  };
  // The base comes straight from the real registry; only the push goes through the proxy.
  const result = await vox(["deploy", "build", "--insecure", "--push", `${proxy.host}/apps/hello:0.1.0`], project(), { VOX_REGISTRY_MIRRORS: `docker.io=http://${registry.host}` });
  assert.equal(result.status, 1, result.stderr);
  assert.ok(foreign.seen.some((s) => s.path.startsWith("/upload/session-1")), "the upload went to the location the registry named");
  assert.deepEqual(leaks(foreign), []);
  assert.equal(foreign.seen.filter((s) => s.path.startsWith("/token")).length, 0, "no token was asked of the upload host");
  assert.match(result.stderr, new RegExp(`error: Cannot upload blob sha256:[0-9a-f]{64} to ${proxy.host}/apps/hello: ${foreign.url}.* asked for credentials`));
});

test("a blob body cut short mid-stream is retried and the build succeeds, saying what it retried", async () => {
  let cut = false;
  proxy.handle = (req, res, body) => {
    if (isBlobGet(req) && req.headers.authorization === BASIC && !cut) {
      cut = true;
      return forward(registry.host, req, res, body, { cutAfter: 100 });
    }
    return honest(req, res, body);
  };
  const result = await vox(["deploy", "build", "--json", "--output", `oci:${tempDir("hostile-out")}`], project());
  assert.equal(result.status, 0, result.stderr);
  assert.ok(cut, "one blob body was cut short");
  assert.match(JSON.parse(result.stdout).index_digest, /^sha256:[0-9a-f]{64}$/);
  assert.match(result.stderr, /^retrying read blob sha256:[0-9a-f]{64} from 127\.0\.0\.1:\d+\/library\/busybox in \d+(\.\d+)? s: /m);
});

test("an endless token answer is refused after 1 MiB without being buffered", async () => {
  let sent = 0;
  let finished = false;
  const LIMIT = 64 << 20;
  proxy.handle = (req, res, body) => {
    if (req.url?.startsWith("/token")) {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(64 << 10, 0x61);
      res.write('{"token":"');
      const pump = () => {
        while (sent < LIMIT) {
          sent += chunk.byteLength;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        finished = true;
        res.end('"}');
      };
      res.on("close", () => res.off("drain", pump));
      return pump();
    }
    if (req.headers.authorization !== "Bearer never") return challenge(res, `${proxy.url}/token`);
    return forward(registry.host, req, res, body);
  };
  const result = await vox(["lock"], project());
  assert.equal(finished, false, `vox read the whole ${sent}-byte token answer instead of stopping at 1 MiB`);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /error: Cannot authenticate to 127\.0\.0\.1:\d+: the token answer is larger than 1 MiB/);
});

test("a manifest trickled one byte at a time fails within the idle timeout and is retried", async () => {
  let trickled = false;
  proxy.handle = (req, res, body) => {
    if (req.method === "GET" && req.url?.includes("/manifests/") && req.headers.authorization === BASIC && !trickled) {
      trickled = true;
      res.writeHead(200, { "content-type": "application/vnd.oci.image.index.v1+json", "content-length": "4000" });
      let bytes = 0;
      const timer = setInterval(() => {
        if (++bytes > 10 || res.destroyed) return void (clearInterval(timer), res.destroy());
        res.write("{");
      }, 2000);
      res.on("close", () => clearInterval(timer));
      return;
    }
    return honest(req, res, body);
  };
  const result = await vox(["lock"], project(), { VOX_REGISTRY_IDLE_TIMEOUT_MS: "300" });
  assert.equal(result.status, 0, result.stderr);
  assert.ok(trickled);
  assert.match(result.stderr, /^retrying read manifest 127\.0\.0\.1:\d+\/library\/busybox:1\.35 in \d+(\.\d+)? s: no data for 0\.3 s$/m);
});

test("a 429 with Retry-After is waited out, and vox says what it is waiting for", async () => {
  let limited = false;
  proxy.handle = (req, res, body) => {
    if (req.method === "GET" && req.url?.includes("/manifests/") && req.headers.authorization === BASIC && !limited) {
      limited = true;
      return void res.writeHead(429, { "retry-after": "1", "content-type": "application/json" }).end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
    }
    return honest(req, res, body);
  };
  const result = await vox(["lock"], project());
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /^waiting 1 s for read manifest 127\.0\.0\.1:\d+\/library\/busybox:1\.35 \(Retry-After; the registry answered 429 TOOMANYREQUESTS: slow down\)$/m);
});

test("a token service that redirects from https to http never gets the refresh token re-sent in clear text", async () => {
  const secureToken = await startScriptedServer((_req, res) => void res.writeHead(307, { location: `${foreign.url}/token` }).end(), { tls: { cert: pki.cert, key: pki.key } });
  try {
    proxy.handle = (req, res, body) => {
      if (req.headers.authorization !== "Bearer foreign-token") return challenge(res, `${secureToken.url}/token`);
      return forward(registry.host, req, res, body);
    };
    const result = await vox(["lock"], project(), { DOCKER_CONFIG: dockerConfig({ identitytoken: REFRESH_TOKEN }), VOX_CA_BUNDLE: pki.certPath });
    assert.ok(secureToken.seen.some((s) => s.body.includes(REFRESH_TOKEN)), "the refresh token went to the realm the registry named");
    assert.deepEqual(leaks(foreign), []);
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /error: Cannot authenticate to 127\.0\.0\.1:\d+: its token service redirected/);
  } finally {
    await secureToken.stop();
  }
});
