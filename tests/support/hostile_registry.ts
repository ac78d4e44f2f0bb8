// A registry that misbehaves on cue: a loopback proxy in front of a real docker-registry whose answers a test can
// replace one request at a time (redirect a blob, hand out a foreign upload location, trickle, cut a body short,
// rate-limit, demand a token), and stand-alone scripted origins (a storage or upload host, a token service) that
// record every credential they are sent.
import { request as httpRequest, createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

/** What a scripted server received: enough to prove a secret never reached it. */
export interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  body: string;
}

/** Answers one request; `body` is the whole request body, already read. */
export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface ScriptedServer {
  /** `127.0.0.1:PORT`: a registry name for references. */
  host: string;
  /** `http://127.0.0.1:PORT` (https:// with `tls`). */
  url: string;
  seen: Seen[];
  /** Replaceable between tests. */
  handle: Handler;
  stop(): Promise<void>;
}

/** A loopback HTTP(S) server that records every request and lets `handle` answer it. */
export async function startScriptedServer(handle: Handler, options: { tls?: { cert: string; key: string } } = {}): Promise<ScriptedServer> {
  const seen: Seen[] = [];
  const scripted = { handle } as { handle: Handler };
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? "GET", path: req.url ?? "/", authorization: req.headers.authorization, body: body.toString("utf8") });
      Promise.resolve(scripted.handle(req, res, body)).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(error));
      });
    });
  };
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener) : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;
  return Object.assign(scripted, {
    host: `127.0.0.1:${port}`,
    url,
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/**
 * Passes a request on to the real registry at `upstream` (`127.0.0.1:PORT`) and its answer back, keeping the
 * Host header so the registry's upload locations name the proxy. `cutAfter` sends only that many body bytes
 * of the answer and then drops the connection, as a failing load balancer does; `dropAnswer` lets the registry
 * act on the request but drops the connection before any of its answer goes back.
 */
export function forward(upstream: string, req: IncomingMessage, res: ServerResponse, body: Buffer, options: { cutAfter?: number; dropAnswer?: boolean } = {}): Promise<void> {
  const [hostname, port] = upstream.split(":");
  return new Promise((resolve, reject) => {
    const out = httpRequest({ hostname, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (options.dropAnswer) {
        answer.resume().on("end", resolve);
        res.socket?.destroy();
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      if (options.cutAfter === undefined) {
        answer.pipe(res);
        answer.on("end", resolve);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on("data", (chunk: Buffer) => chunks.push(chunk));
      answer.on("end", () => {
        res.write(Buffer.concat(chunks).subarray(0, options.cutAfter), () => res.destroy());
        resolve();
      });
    });
    out.on("error", reject);
    out.end(body);
  });
}

/** A 401 asking for a bearer token from `realm` (the distribution spec's challenge). */
export function challenge(res: ServerResponse, realm: string): void {
  res.writeHead(401, { "www-authenticate": `Bearer realm="${realm}",service="scripted"`, "content-type": "application/json" });
  res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
}
