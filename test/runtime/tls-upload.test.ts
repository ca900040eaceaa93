// The layer's uploads over TLS, as to S3 itself: a TLS proxy on 127.0.0.1 (a self-signed certificate
// made by Debian's openssl) in front of the local S3 server, checking every SigV4 signature, and both
// upload paths through aws-lambda-ric. With the certificate trusted (NODE_EXTRA_CA_CERTS) the maps and
// the shard arrive and are read back with awscli; without it the function still answers, health names
// the certificate problem (upload:tls, not retried: trying again does not change a certificate).
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ricAvailable, type Container } from '../../scripts/local/lambda.mjs';
import { LOCAL_CREDENTIALS, startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import type { UploadPath } from '../../runtime/s3.js';
import { FIXTURE_PATH, expectedCounters } from './fixtures.js';
import { startProxy, type S3Proxy } from './proxy.js';
import { awsListKeys, awsShard, fixtureBehindLayer, layerOpt, selfSignedCert } from './helpers.js';

const ric = ricAvailable();
const missing = !ric.ok ? ric.reason : !existsSync('/usr/bin/openssl') ? '/usr/bin/openssl is missing (Debian package openssl)' : undefined;
if (missing !== undefined) console.warn(`SKIPPED uploads over TLS: ${missing}`);
const d = missing === undefined ? describe : describe.skip;
const PATHS: UploadPath[] = ['light', 'sdk'];

d('uploads over TLS (a TLS proxy that checks signatures, before the local S3 server)', () => {
  let s3: LocalS3;
  let proxy: S3Proxy;
  let certFile: string;
  let opt: string;
  const containers: Container[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: ['cov-bucket'] });
    const cert = selfSignedCert();
    certFile = cert.certFile;
    proxy = await startProxy(s3.endpoint, { tls: { key: cert.key, cert: cert.cert }, verify: LOCAL_CREDENTIALS });
    opt = layerOpt();
  });
  afterAll(async () => {
    await Promise.all(containers.map((c) => c.shutdown().catch(() => undefined)));
    await proxy?.stop();
    await s3?.stop();
  });

  const start = (fn: string, env: Record<string, string>) => fixtureBehindLayer({ opt, endpoint: proxy.endpoint, fn, env, containers });
  const health = async (c: Container) => (await c.invoke({ lambdaCoverage: 'health' })).payload as any;

  for (const path of PATHS) {
    const pathEnv: Record<string, string> = path === 'sdk' ? { COVERAGE_UPLOAD_PATH: 'sdk' } : {};

    it(`${path}: the endpoint's certificate trusted, the maps and the shard arrive over TLS, every request signed right`, async () => {
      const fn = `tls-${path}`;
      expect(proxy.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const n = proxy.requests.length;
      const c = await start(fn, { ...pathEnv, NODE_EXTRA_CA_CERTS: certFile });
      for (let i = 0; i < 2; i++) expect((await c.invoke({ n: 1 })).ok).toBe(true);
      const sent = proxy.requests.slice(n).filter((r) => r.path.includes(`/${fn}/`));
      expect(sent.map((r) => r.method).sort()).toEqual(['HEAD', 'PUT', 'PUT', 'PUT']);
      expect(sent.every((r) => r.verified === true)).toBe(true);
      const h = await health(c);
      expect(h).toMatchObject({ upload_path: path, last_upload: { ok: true } });
      expect(await awsListKeys(s3.endpoint, `coverage/${fn}/maps/`)).toHaveLength(1);
      expect((await awsShard(s3.endpoint, h.last_upload.key)).files[FIXTURE_PATH]).toEqual(expectedCounters(2, 0));
    });

    it(`${path}: a certificate the function does not trust: it answers as ever, health says upload:tls, nothing is stored`, async () => {
      const fn = `tls-untrusted-${path}`;
      const c = await start(fn, pathEnv);
      const r = await c.invoke({ n: 1 });
      expect(r.ok).toBe(true);
      const h = await health(c);
      expect(h).toMatchObject({ pending: true, upload_path: path, last_upload: { ok: false } });
      expect(h.errors.map((e: { kind: string }) => e.kind)).toContain('upload:tls');
      expect(h.errors.find((e: { kind: string }) => e.kind === 'upload:tls').message).toContain('NODE_EXTRA_CA_CERTS');
      expect(await awsListKeys(s3.endpoint, `coverage/${fn}/`)).toEqual([]);
    });
  }
});
