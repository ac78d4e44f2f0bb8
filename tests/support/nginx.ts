// Debian's nginx on a loopback port, serving a directory: the real static web server a mirror is.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { dirname, join } from "node:path";
import { tempDir } from "./helpers.ts";

export interface RunningServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A free loopback port (the OS picks it; the race until nginx binds it is accepted in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, child?: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child?.exitCode !== null && child?.exitCode !== undefined) throw new Error(`server exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.end();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

/** A self-signed certificate for 127.0.0.1 (PEM files); clients trust it through CURL_CA_BUNDLE / VOX_CA_BUNDLE. */
export function selfSignedCert(): { cert: string; key: string } {
  const dir = tempDir("pki");
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2", "-keyout", key, "-out", cert], { stdio: "ignore" });
  return { cert, key };
}

/**
 * The directories above a web root must be searchable by the server's user, as /var/www is; the scratch
 * directories tests make are 0700. Only search (x) is added, never read, so nothing becomes listable.
 */
function makeSearchable(root: string): void {
  for (let dir = root; dir !== dirname(dir); dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o011);
  }
}

export interface NginxOptions {
  /** Serve https with this certificate instead of plain http. */
  tls?: { cert: string; key: string };
  /** Extra directives inside the server block (e.g. a redirecting location). */
  serverConfig?: string;
}

/**
 * Starts nginx serving `root` on 127.0.0.1 and returns its URL; `stop()` ends it. Run as root (as the suite is),
 * the workers run as `nobody`, as a packaged nginx's do as `www-data`: files the server cannot read answer 403.
 */
export async function startNginx(root: string, options: NginxOptions = {}): Promise<RunningServer> {
  const prefix = tempDir("nginx");
  const port = await freePort();
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(prefix, sub));
  const unprivileged = process.getuid?.() === 0 ? `user nobody ${execFileSync("id", ["-gn", "nobody"], { encoding: "utf8" }).trim()};` : "";
  if (unprivileged) makeSearchable(root);
  const listen = options.tls ? `listen 127.0.0.1:${port} ssl;\n    ssl_certificate ${options.tls.cert};\n    ssl_certificate_key ${options.tls.key};` : `listen 127.0.0.1:${port};`;
  writeFileSync(
    join(prefix, "nginx.conf"),
    `${unprivileged}
worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 64; }
http {
  access_log ${prefix}/access.log;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  types { application/gzip gz; application/zip zip; text/plain txt minisig sh ps1; application/json json; }
  default_type application/octet-stream;
  sendfile on;
  server {
    ${listen}
    root ${root};
    ${options.serverConfig ?? ""}
  }
}
`,
  );
  const child = spawn("nginx", ["-p", prefix, "-c", join(prefix, "nginx.conf")], { stdio: ["ignore", "ignore", "pipe"] });
  await waitForPort(port, child);
  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGQUIT");
      }),
  };
}
