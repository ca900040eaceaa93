/**
 * A real HTTP proxy on 127.0.0.1 in front of the local S3 server: it records each request's method,
 * path and headers (to check what the runtime sent: SSE, ExpectedBucketOwner, checksums) and can
 * answer 503 SlowDown itself (a throttling S3), refuse requests with an S3 error document of the test's
 * choosing (an S3 whose error text carries ARNs and account ids), delay responses (a slow S3) or hold them
 * until the test lets them go (an S3 that has not answered yet) — real sockets, real latency, no mock.
 * The local S3 server checks no SigV4 signature: with `verify` the proxy does, as S3 does (the
 * signature recomputed by the AWS SDK's own signer, @smithy/signature-v4, and the body's SHA-256),
 * and answers S3's 403 SignatureDoesNotMatch / InvalidAccessKeyId / XAmzContentSHA256Mismatch. It also
 * takes virtual-hosted requests (`Host: <bucket>.localhost:<port>`) and forwards them path-style.
 */
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/core/serde';

export interface Recorded {
  method: string; path: string; headers: IncomingHttpHeaders;
  /** The client's port: the same on two requests means one kept-alive connection. */
  clientPort: number;
  /** Date.now() when the request's headers arrived (comparable with a handler's clock on this host). */
  at: number;
  /** Whether the SigV4 check (with `verify`) passed. */
  verified?: boolean;
}

export interface ProxyOptions {
  /** Check every request's signature with these credentials, as S3 does. */
  verify?: { accessKeyId: string; secretAccessKey: string; region?: string };
  /** Answer over TLS with this key and certificate (as S3 does): the endpoint is then https://127.0.0.1:<port>. */
  tls?: { key: string; cert: string };
}

export interface S3Proxy {
  endpoint: string;
  requests: Recorded[];
  /** The next this many requests are answered 503 SlowDown instead of being forwarded. */
  failNext: number;
  /** While set, requests with one of these methods get this status and S3 XML error body, unforwarded. */
  refuse: { methods: string[]; status: number; body: string } | null;
  /** Milliseconds to hold each request before forwarding it. */
  delayMs: number;
  /**
   * The next request that comes on a kept-alive connection (not its first) gets the connection reset
   * instead of an answer: a server that closed an idle connection just as the client reused it.
   */
  resetReusedNext: boolean;
  /** Holds every request that arrives from now on until `release()`; `waiting()` counts them. */
  hold(): { release(): void; waiting(): number };
  /** Requests read and not yet answered by S3 (held, delayed or on their way): 0 once S3 has them all. */
  forwarding(): number;
  stop(): Promise<void>;
}

function s3ErrorXml(code: string, message: string, extra = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>LOCALPROXY</RequestId></Error>`;
}

/** S3's SigV4 check of a header-signed request: undefined when it passes, else S3's error answer. */
async function checkSignature(method: string, url: string, headers: IncomingHttpHeaders, body: Buffer, v: NonNullable<ProxyOptions['verify']>): Promise<{ code: string; message: string; extra?: string } | undefined> {
  const auth = String(headers.authorization ?? '');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (m === null) return { code: 'AccessDenied', message: 'Access Denied' };
  const [, keyId, , , signedHeaders, provided] = m as unknown as string[];
  if (keyId !== v.accessKeyId) return { code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' };
  const payloadHash = String(headers['x-amz-content-sha256'] ?? '');
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== createHash('sha256').update(body).digest('hex')) {
    return { code: 'XAmzContentSHA256Mismatch', message: 'The provided \'x-amz-content-sha256\' header does not match what was computed.' };
  }
  const u = new URL(url, 'http://proxy');
  const signed = new Set(signedHeaders!.split(';'));
  const h: Record<string, string> = {};
  for (const name of signed) h[name] = String(headers[name] ?? '');
  const amzDate = String(headers['x-amz-date'] ?? '');
  const date = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13)}`);
  const query: Record<string, string> = {};
  for (const [k, val] of u.searchParams) query[k] = val;
  const signer = new SignatureV4({ credentials: { accessKeyId: v.accessKeyId, secretAccessKey: v.secretAccessKey }, region: v.region ?? 'us-east-1', service: 's3', sha256: Hash.bind(null, 'sha256'), uriEscapePath: false, applyChecksum: false });
  const out = await signer.sign({ method, protocol: 'http:', hostname: 'proxy', path: u.pathname, query, headers: h, body }, { signingDate: date, signableHeaders: signed });
  const ours = /Signature=([0-9a-f]{64})/.exec(String(out.headers.authorization))?.[1];
  if (ours === provided) return undefined;
  // What S3 sends back on a bad signature (the string to sign and the access key id included), so
  // that a test can check none of it beyond Code and Message reaches a log or the health check.
  return { code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', extra: `<AWSAccessKeyId>${keyId}</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n${amzDate}</StringToSign><SignatureProvided>${provided}</SignatureProvided>` };
}

export async function startProxy(target: string, options: ProxyOptions = {}): Promise<S3Proxy> {
  const t = new URL(target);
  const requests: Recorded[] = [];
  let gate: Promise<void> | undefined;
  let waiting = 0;
  let forwarding = 0;
  const proxy: S3Proxy = {
    endpoint: '', requests, delayMs: 0, failNext: 0, refuse: null, resetReusedNext: false, stop: async () => undefined,
    forwarding: () => forwarding,
    hold() {
      let release!: () => void;
      gate = new Promise<void>((r) => { release = r; });
      return { release: () => { gate = undefined; release(); }, waiting: () => waiting };
    },
  };
  const served = new WeakMap<object, number>();
  const handle: Parameters<typeof createServer>[1] = (req, res) => {
    const n = (served.get(req.socket) ?? 0) + 1;
    served.set(req.socket, n);
    if (proxy.resetReusedNext && n > 1) {
      proxy.resetReusedNext = false;
      req.socket.resetAndDestroy();
      return;
    }
    const rec: Recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, clientPort: req.socket.remotePort ?? 0, at: Date.now() };
    requests.push(rec);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (options.verify !== undefined) {
        const bad = await checkSignature(rec.method, rec.path, req.headers, Buffer.concat(chunks), options.verify).catch((e: Error) => ({ code: 'InternalError', message: e.message, extra: '' }));
        rec.verified = bad === undefined;
        if (bad !== undefined) {
          res.writeHead(403, { 'content-type': 'application/xml', 'x-amz-request-id': 'LOCALPROXY' });
          res.end(rec.method === 'HEAD' ? undefined : s3ErrorXml(bad.code, bad.message, bad.extra));
          return;
        }
      }
      // Virtual-hosted style (<bucket>.localhost): forwarded path-style, as the local server expects.
      const vhost = /^([a-z0-9][a-z0-9.-]*[a-z0-9])\.localhost(:\d+)?$/.exec(String(req.headers.host ?? ''));
      const upPath = vhost !== null ? `/${vhost[1]}${req.url ?? '/'}` : req.url;
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
      forwarding++;
      let done = false;
      const finish = () => { if (!done) { done = true; forwarding--; } };
      void (held ?? Promise.resolve()).then(() => { if (held !== undefined) waiting--; }).then(() => setTimeout(() => {
        const headers = vhost !== null ? { ...req.headers, host: t.host } : req.headers;
        const up = request({ host: t.hostname, port: Number(t.port), method: req.method, path: upPath, headers }, (ur) => {
          ur.on('end', finish);
          ur.on('error', finish);
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          ur.pipe(res);
        });
        up.on('error', () => { finish(); if (!res.headersSent) res.writeHead(502); res.end(); });
        up.end(Buffer.concat(chunks));
      }, proxy.delayMs));
    });
  };
  const server: Server = options.tls === undefined ? createServer(handle) : createTlsServer(options.tls, handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  proxy.endpoint = `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  proxy.stop = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return proxy;
}
