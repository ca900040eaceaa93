/**
 * A real HTTP proxy on 127.0.0.1 in front of the local S3 server: it records each request's method,
 * path and headers (to check what the runtime sent: SSE, ExpectedBucketOwner, checksums) and can
 * delay responses (a slow S3) — real sockets, real latency, no mock.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';

export interface Recorded { method: string; path: string; headers: IncomingHttpHeaders }

export interface S3Proxy {
  endpoint: string;
  requests: Recorded[];
  /** Milliseconds to hold each request before forwarding it. */
  delayMs: number;
  stop(): Promise<void>;
}

export async function startProxy(target: string): Promise<S3Proxy> {
  const t = new URL(target);
  const requests: Recorded[] = [];
  const proxy: S3Proxy = { endpoint: '', requests, delayMs: 0, stop: async () => undefined };
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      setTimeout(() => {
        const up = request({ host: t.hostname, port: Number(t.port), method: req.method, path: req.url, headers: req.headers }, (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
        });
        up.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end(); });
        up.end(Buffer.concat(chunks));
      }, proxy.delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  proxy.endpoint = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  proxy.stop = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return proxy;
}
