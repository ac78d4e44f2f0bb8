// Debian's docker-registry (CNCF distribution 2.8.2) on a loopback port with storage in a temp dir, and for token
// auth a small JWT token server in this process whose signing certificate is the registry's root bundle.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createPrivateKey, randomUUID, sign, X509Certificate } from "node:crypto";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { tempDir } from "./helpers.ts";
import { freePort, waitForPort } from "./nginx.ts";

export const TOKEN_USER = "vox-ci";
export const TOKEN_PASSWORD = "correct horse battery staple";
const SERVICE = "vox-test-registry";
const ISSUER = "vox-test-issuer";

export interface TokenServer {
  url: string;
  /** One entry per token request: who asked (undefined when anonymous) and for which scopes. */
  requests: { user: string | undefined; scopes: string[] }[];
  stop(): Promise<void>;
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT`, the registry name to put in references. */
  host: string;
  /** The filesystem storage root (`docker/registry/v2/…` lives below it). */
  storage: string;
  tokenServer?: TokenServer;
  /** The registry's log so far, to print when a test fails. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Starts `docker-registry serve` on a free loopback port. `auth: "token"` also starts the token server and points
 * the registry's `auth.token` at it; the caller must `stop()` (in `after`, so it happens when tests fail too).
 */
/** `tls` serves HTTPS with that certificate and key (PEM files), e.g. one from a private CA. */
export async function startRegistry(options: { auth?: "token" | "none"; tls?: { certificate: string; key: string } } = {}): Promise<RunningRegistry> {
  const dir = tempDir("registry");
  const port = await freePort();
  const tokenServer = options.auth === "token" ? await startTokenServer(dir) : undefined;
  const config = join(dir, "config.yml");
  writeFileSync(config, registryConfig(dir, port, tokenServer, options.tls));
  const logFile = join(dir, "registry.log");
  const log = openSync(logFile, "w");
  const child = spawn("/usr/bin/docker-registry", ["serve", config], { stdio: ["ignore", log, log] });
  closeSync(log);
  const stopAll = async () => {
    await stopChild(child);
    await tokenServer?.stop();
  };
  try {
    await waitForPort(port, child);
  } catch (error) {
    await stopAll();
    throw new Error(`docker-registry did not start: ${String(error)}\n${readFileSync(logFile, "utf8")}`);
  }
  return {
    host: `127.0.0.1:${port}`,
    storage: join(dir, "storage"),
    ...(tokenServer ? { tokenServer } : {}),
    logs: () => readFileSync(logFile, "utf8"),
    stop: stopAll,
  };
}

function registryConfig(dir: string, port: number, tokenServer: TokenServer | undefined, tls: { certificate: string; key: string } | undefined): string {
  const auth = tokenServer
    ? `auth:
  token:
    realm: ${tokenServer.url}/token
    service: ${SERVICE}
    issuer: ${ISSUER}
    rootcertbundle: ${join(dir, "token-cert.pem")}
`
    : "";
  // No redirects (blobs served directly), no notifications, no upload purging, no health checks: nothing
  // happens in the background while a test runs.
  return `version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: ${join(dir, "storage")}
  delete:
    enabled: true
  redirect:
    disable: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:${port}
  secret: vox-test-secret
${tls ? `  tls:\n    certificate: ${tls.certificate}\n    key: ${tls.key}\n` : ""}${auth}`;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/**
 * A token server in the style of Docker's token spec: anonymous callers get a token granting nothing (as Docker
 * Hub does), the right user and password get every scope they ask for, a wrong password gets 401. Tokens are
 * ES256 JWTs whose `x5c` header carries the self-signed certificate the registry trusts.
 */
async function startTokenServer(dir: string): Promise<TokenServer> {
  const keyPath = join(dir, "token-key.pem");
  const certPath = join(dir, "token-cert.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "2", "-subj", "/CN=vox-test-token-issuer"], { stdio: "ignore" });
  const key = createPrivateKey(readFileSync(keyPath));
  const certDer = new X509Certificate(readFileSync(certPath)).raw.toString("base64");
  const requests: TokenServer["requests"] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const scopes = url.searchParams.getAll("scope").flatMap((s) => s.split(" ")).filter(Boolean);
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
    const [user, password] = basic ? Buffer.from(basic[1]!, "base64").toString("utf8").split(/:(.*)/s) : [];
    requests.push({ user, scopes });
    if (url.pathname !== "/token") return void res.writeHead(404).end();
    if (user !== undefined && (user !== TOKEN_USER || password !== TOKEN_PASSWORD)) {
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ details: "wrong user name or password" }));
      return;
    }
    const access = user === undefined ? [] : scopes.map(parseScope).filter((a) => a !== undefined);
    const token = signJwt({ key, certDer, subject: user ?? "", access });
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `repository:team/app:pull,push` → `{ type, name, actions }`. */
function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const match = /^([a-z]+):(.+):([a-z*,]+)$/.exec(scope);
  return match ? { type: match[1]!, name: match[2]!, actions: match[3]!.split(",") } : undefined;
}

function signJwt(options: { key: ReturnType<typeof createPrivateKey>; certDer: string; subject: string; access: { type: string; name: string; actions: string[] }[] }): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const header = encode({ typ: "JWT", alg: "ES256", x5c: [options.certDer] });
  const claims = encode({ iss: ISSUER, sub: options.subject, aud: SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access: options.access });
  // JWS wants the raw r||s signature, not DER.
  const signature = sign("sha256", Buffer.from(`${header}.${claims}`), { key: options.key, dsaEncoding: "ieee-p1363" }).toString("base64url");
  return `${header}.${claims}.${signature}`;
}
