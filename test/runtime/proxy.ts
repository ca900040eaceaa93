/**
 * A real HTTP proxy on 127.0.0.1 in front of the local S3 server: it records each request's method,
 * path and headers (to check what the runtime sent: SSE, ExpectedBucketOwner, checksums) and can
 * answer 503 SlowDown itself (a throttling S3), refuse requests with an S3 error document of the test's
 * choosing (an S3 whose error text carries ARNs and account ids), delay responses (a slow S3) or hold them
 * until the test lets them go (an S3 that has not answered yet) — real sockets, real latency, no mock.
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';

export interface Recorded { method: string; path: string; headers: IncomingHttpHeaders }

export interface S3Proxy {
  endpoint: string;
  requests: Recorded[];
  /** The next this many requests are answered 503 SlowDown instead of being forwarded. */
  failNext: number;
  /** While set, requests with one of these methods get this status and S3 XML error body, unforwarded. */
  refuse: { methods: string[]; status: number; body: string } | null;
  /** Milliseconds to hold each request before forwarding it. */
  delayMs: number;
  /** Holds every request that arrives from now on until `release()`; `waiting()` counts them. */
  hold(): { release(): void; waiting(): number };
  stop(): Promise<void>;
}

export async function startProxy(target: string): Promise<S3Proxy> {
  const t = new URL(target);
  const requests: Recorded[] = [];
  let gate: Promise<void> | undefined;
  let waiting = 0;
  const proxy: S3Proxy = {
    endpoint: '', requests, delayMs: 0, failNext: 0, refuse: null, stop: async () => undefined,
    hold() {
      let release!: () => void;
      gate = new Promise<void>((r) => { release = r; });
      return { release: () => { gate = undefined; release(); }, waiting: () => waiting };
    },
  };
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (proxy.failNext > 0) {
        proxy.failNext--;
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
        return;
      }
      const refuse = proxy.refuse;
      if (refuse !== null && refuse.methods.includes(req.method ?? '')) {
        res.writeHead(refuse.status, { 'content-type': 'application/xml' });
        res.end(refuse.body);
        return;
      }
      const held = gate;
      if (held !== undefined) waiting++;
      void (held ?? Promise.resolve()).then(() => { if (held !== undefined) waiting--; }).then(() => setTimeout(() => {
        const up = request({ host: t.hostname, port: Number(t.port), method: req.method, path: req.url, headers: req.headers }, (ur) => {
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
        });
        up.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end(); });
        up.end(Buffer.concat(chunks));
      }, proxy.delayMs));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  proxy.endpoint = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  proxy.stop = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return proxy;
}
