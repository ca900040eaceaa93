// A small HTTP proxy on 127.0.0.1 in front of the local S3 server, to make real slow responses and to
// act between a LIST and a GET. Requests are forwarded byte for byte (Host kept, so signatures hold).
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Proxy {
  url: string;
  /** "GET /bucket/key?…" of every request seen. */
  seen: string[];
  /** Most requests open at the same time. */
  readonly maxInFlight: number;
  stop(): Promise<void>;
}

/** `before` runs before a request is forwarded: delay it, or change the world (delete an object). */
export async function startProxy(target: string, before: (req: IncomingMessage) => Promise<void> | void = () => {}): Promise<Proxy> {
  const t = new URL(target);
  const seen: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    res.once('close', () => { inFlight--; });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void Promise.resolve(before(req)).then(() => {
        if (res.destroyed || req.destroyed && res.closed) return;
        const up = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        });
        up.on('error', () => { res.destroy(); });
        up.end(Buffer.concat(chunks));
      });
    });
    res.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    get maxInFlight() { return maxInFlight; },
    stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
