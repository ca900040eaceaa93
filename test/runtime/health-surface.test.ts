// The health check as a public surface, on real parts: API Gateway (REST and HTTP API) and function URL
// events sent through aws-lambda-ric and the layer zip, the local S3 server behind a recording proxy,
// the bucket checked with awscli. `?deep=1` over HTTP writes nothing without COVERAGE_HEALTH_HTTP_DEEP=1;
// probes are rate-limited per container (the window itself on the collector's injected clock, with real
// writes); the answer has the documented fields only, and no secret from the environment or from S3's
// error text (a proxy answering PUT with a real S3 error document) ever appears in it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ricAvailable, type Container } from '../../scripts/local/lambda.mjs';
import { startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';
import { Collector, PROBE_WINDOW_MS } from '../../runtime/collector.js';
import { parseConfig } from '../../runtime/config.js';
import { CoverageLog } from '../../runtime/log.js';
import { startProxy, type S3Proxy } from './proxy.js';
import { awsGet, awsListKeys, coverageEnv, fixtureBehindLayer, layerOpt, tempDir, BUCKET } from './helpers.js';

const ric = ricAvailable();
if (!ric.ok) console.warn(`SKIPPED runtime health-surface tests: ${ric.reason}`);
const d = ric.ok ? describe : describe.skip;

let s3: LocalS3;
let proxy: S3Proxy;
let opt: string;
const containers: Container[] = [];

beforeAll(async () => {
  s3 = await startLocalS3({ buckets: [BUCKET] });
  proxy = await startProxy(s3.endpoint);
  opt = layerOpt();
});
afterAll(async () => {
  await Promise.all(containers.map((c) => c.shutdown().catch(() => undefined)));
  await proxy?.stop();
  await s3?.stop();
});

function start(fn: string, env: Record<string, string>): Promise<Container> {
  return fixtureBehindLayer({ opt, endpoint: proxy.endpoint, fn, env, containers });
}

// The three ways an HTTP request reaches the function, as Lambda delivers them.
type Query = Record<string, string>;
const restApiEvent = (q: Query) => ({
  resource: '/__coverage/health', path: '/__coverage/health', httpMethod: 'GET', headers: { Host: 'abc123.execute-api.us-east-1.amazonaws.com' },
  queryStringParameters: q, requestContext: { stage: 'prod', httpMethod: 'GET', path: '/prod/__coverage/health', identity: { sourceIp: '203.0.113.7' } },
  body: null, isBase64Encoded: false,
});
const httpApiEvent = (q: Query, routeKey = 'GET /__coverage/health', domainName = 'abc123.execute-api.us-east-1.amazonaws.com') => ({
  version: '2.0', routeKey, rawPath: '/__coverage/health', rawQueryString: new URLSearchParams(q).toString(), queryStringParameters: q,
  headers: { host: domainName }, requestContext: { domainName, http: { method: 'GET', path: '/__coverage/health', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7' }, routeKey, stage: '$default' },
  isBase64Encoded: false,
});
const functionUrlEvent = (q: Query) => httpApiEvent(q, '$default', 'xyz789.lambda-url.us-east-1.on.aws');

async function overHttp(c: Container, event: object): Promise<{ statusCode: number; report: Record<string, any> }> {
  const r = await c.invoke(event);
  expect(r.ok).toBe(true);
  expect(r.payload.headers).toEqual({ 'content-type': 'application/json', 'cache-control': 'no-store' });
  return { statusCode: r.payload.statusCode, report: JSON.parse(r.payload.body) };
}

async function direct(c: Container, deep: boolean): Promise<Record<string, any>> {
  const r = await c.invoke(deep ? { lambdaCoverage: 'health', deep: true } : { lambdaCoverage: 'health' });
  expect(r.ok).toBe(true);
  return r.payload as Record<string, any>;
}

const probeKey = (fn: string) => `coverage/${fn}/health/probe.json`;
const probePuts = (fn: string) => proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes(`/${fn}/health/`)).length;

// The documented answer (README "Health check", docs/runtime.md): every key, at every level, and its type.
// A string is a type ('string|null' allows null); { ... } an object with exactly these keys ($null: it may be
// null); [x] an array of x.
type Schema = string | Schema[] | { [key: string]: Schema | boolean };
const ERROR: Schema = { kind: 'string', message: 'string', count: 'number', last_at: 'string' };
const REPORT: Record<string, Schema> = {
  status: 'string', coverage_enabled: 'boolean', layer_version: 'string', s3_config: { bucket: 'string', prefix: 'string' },
  timestamp: 'string', errors: [ERROR], instrumented_files: 'number',
  last_upload: { $null: true, ok: 'boolean', key: 'string|null', bytes: 'number|null', ms: 'number|null', error: 'string|null', at: 'string' },
  pending: 'boolean', flush_mode: 'string', flush_mode_note: 'string|null', upload_path: 'string', container_id: 'string', invocations: 'number',
  per_test: { $null: true, tests: 'number', limit: 'number', overflow: 'number' },
};
const DEEP_CHECK: Schema = { ok: 'boolean', key: 'string', ms: 'number', error: 'string|null', at: 'string', reused: 'boolean' };

function shapeProblems(value: unknown, schema: Schema, path: string, out: string[]): string[] {
  if (typeof schema === 'string') {
    const types = schema.split('|');
    const t = value === null ? 'null' : typeof value;
    if (!types.includes(t)) out.push(`${path}: ${t}, expected ${schema}`);
  } else if (Array.isArray(schema)) {
    if (!Array.isArray(value)) out.push(`${path}: not an array`);
    else value.forEach((v, i) => shapeProblems(v, schema[0]!, `${path}[${i}]`, out));
  } else if (value === null && schema.$null === true) {
    // allowed
  } else if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    out.push(`${path}: not an object`);
  } else {
    const expected = Object.keys(schema).filter((k) => k !== '$null');
    const actual = Object.keys(value);
    for (const k of actual) if (!expected.includes(k)) out.push(`${path}.${k}: not a documented field`);
    for (const k of expected) {
      if (!actual.includes(k)) out.push(`${path}.${k}: missing`);
      else shapeProblems((value as Record<string, unknown>)[k], schema[k] as Schema, `${path}.${k}`, out);
    }
  }
  return out;
}

/** The report has exactly the documented keys, recursively; `extra` names the optional ones expected. */
function expectDocumented(report: unknown, extra: { deep_check?: true; deep_check_skipped?: true } = {}): void {
  const schema: Record<string, Schema> = { ...REPORT };
  if (extra.deep_check) schema.deep_check = DEEP_CHECK;
  if (extra.deep_check_skipped) schema.deep_check_skipped = 'string';
  expect(shapeProblems(report, schema, 'health', [])).toEqual([]);
}

d('the health check as a public surface, on real parts', () => {
  it('GET /__coverage/health?deep=1 without COVERAGE_HEALTH_HTTP_DEEP: the shallow answer says why, and no probe is written; direct deep still probes', async () => {
    const fn = 'fn-http-shallow';
    const c = await start(fn, { COVERAGE_HEALTH_HTTP: '1' });
    expect((await c.invoke({ n: 1 })).ok).toBe(true);
    for (const event of [restApiEvent({ deep: '1' }), httpApiEvent({ deep: '1' }), functionUrlEvent({ deep: 'true' })]) {
      const { statusCode, report } = await overHttp(c, event);
      expect(statusCode).toBe(200);
      expectDocumented(report, { deep_check_skipped: true });
      expect(report.status).toBe('healthy');
      expect(report.deep_check_skipped).toContain('COVERAGE_HEALTH_HTTP_DEEP=1');
    }
    // Without ?deep the answer is the plain one.
    expectDocumented((await overHttp(c, functionUrlEvent({}))).report);
    expect(probePuts(fn)).toBe(0);
    expect(await awsListKeys(s3.endpoint, `coverage/${fn}/health/`)).toEqual([]);

    // A direct invocation needs lambda:InvokeFunction: deep works there as before.
    const deep = await direct(c, true);
    expectDocumented(deep, { deep_check: true });
    expect(deep.deep_check).toMatchObject({ ok: true, error: null, key: probeKey(fn), reused: false });
    expect(probePuts(fn)).toBe(1);
    expect(await awsListKeys(s3.endpoint, `coverage/${fn}/health/`)).toEqual([probeKey(fn)]);
  });

  it('with COVERAGE_HEALTH_HTTP_DEEP=1: one probe per container per window; later requests, HTTP or direct, write nothing and say they reused it', async () => {
    const fn = 'fn-http-deep';
    const c = await start(fn, { COVERAGE_HEALTH_HTTP: '1', COVERAGE_HEALTH_HTTP_DEEP: '1' });
    expect((await c.invoke({ n: 1 })).ok).toBe(true);
    const first = await overHttp(c, httpApiEvent({ deep: '1' }));
    expect(first.statusCode).toBe(200);
    expectDocumented(first.report, { deep_check: true });
    expect(first.report.deep_check).toMatchObject({ ok: true, error: null, key: probeKey(fn), reused: false });
    expect(probePuts(fn)).toBe(1);
    const written = JSON.parse((await awsGet(s3.endpoint, probeKey(fn))).bytes.toString('utf8'));
    expect(written).toEqual({ containerId: first.report.container_id, at: first.report.deep_check.at });

    // Well within the 60 s window (this test takes a few seconds).
    for (const event of [functionUrlEvent({ deep: '1' }), restApiEvent({ deep: 'true' })]) {
      const again = await overHttp(c, event);
      expectDocumented(again.report, { deep_check: true });
      expect(again.report.deep_check).toEqual({ ...first.report.deep_check, reused: true });
    }
    const viaInvoke = await direct(c, true);
    expect(viaInvoke.deep_check).toEqual({ ...first.report.deep_check, reused: true });
    expect(probePuts(fn)).toBe(1);
    expect(JSON.parse((await awsGet(s3.endpoint, probeKey(fn))).bytes.toString('utf8'))).toEqual(written);
    expect(await awsListKeys(s3.endpoint, `coverage/${fn}/health/`)).toEqual([probeKey(fn)]);
  });

  it('secrets in the environment and in S3\'s error text never reach the answer, over HTTP or direct; the log keeps S3\'s text', async () => {
    const fn = 'fn-secrets';
    const secrets = {
      AWS_ACCESS_KEY_ID: 'AKIASECRETCANARY0001',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/SECRET-CANARY-secret-key',
      AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEXAMPLE-SECRET-CANARY-session-token',
      MY_API_TOKEN: 'sk-live-SECRET-CANARY-api-token',
      COVERAGE_S3_EXPECTED_BUCKET_OWNER: '210987654321',
    };
    const s3Error = (code: string, message: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>SECRETCANARYREQID1</RequestId><HostId>SECRET-CANARY-host-id/abc+def=</HostId></Error>`;
    const denied = 'User: arn:aws:sts::123456789012:assumed-role/secret-role/SECRET-CANARY-session is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::cov-bucket/coverage/fn-secrets/x" because no identity-based policy allows the s3:PutObject action';
    const accountProblem = 'There is a problem with account 123456789012 (role arn:aws:iam::123456789012:role/secret-role, SECRET-CANARY-account)';
    const c = await start(fn, { COVERAGE_HEALTH_HTTP: '1', COVERAGE_HEALTH_HTTP_DEEP: '1', ...secrets });
    const endpointPort = new URL(proxy.endpoint).port;
    const forbidden = [...Object.values(secrets), 'SECRET', 'CANARY', '123456789012', 'arn:', 'secret-role', proxy.endpoint, s3.endpoint, `:${endpointPort}`, '127.0.0.1', 'S3RVER'];
    const answers: { how: string; report: Record<string, any> }[] = [];
    try {
      proxy.refuse = { methods: ['PUT'], status: 403, body: s3Error('AccessDenied', denied) };
      expect((await c.invoke({ n: 1 })).ok).toBe(true);
      // The probe is really sent (and refused) by this request; the later deep ones reuse its result.
      answers.push({ how: 'function URL deep', report: (await overHttp(c, functionUrlEvent({ deep: '1' }))).report });
      expect(probePuts(fn)).toBe(1);
      // A code health has no wording of its own for, with S3's text in the message.
      proxy.refuse = { methods: ['PUT'], status: 403, body: s3Error('AccountProblem', accountProblem) };
      expect((await c.invoke({ n: 2 })).ok).toBe(true);
      answers.push({ how: 'REST API', report: (await overHttp(c, restApiEvent({}))).report });
      answers.push({ how: 'HTTP API deep', report: (await overHttp(c, httpApiEvent({ deep: '1' }))).report });
      answers.push({ how: 'direct', report: await direct(c, false) });
      answers.push({ how: 'direct deep', report: await direct(c, true) });
    } finally {
      proxy.refuse = null;
    }
    expect(probePuts(fn)).toBe(1);
    for (const { how, report } of answers) {
      expectDocumented(report, how.endsWith('deep') ? { deep_check: true } : {});
      const text = JSON.stringify(report);
      for (const s of forbidden) expect(text, `${how} shows ${s}`).not.toContain(s);
      expect(report.status).toBe('unhealthy');
      expect(report.s3_config).toEqual({ bucket: BUCKET, prefix: 'coverage/' });
    }
    const last = answers.at(-1)!.report;
    expect(last.errors.map((e: any) => e.kind).sort()).toEqual(['upload:AccessDenied', 'upload:AccountProblem']);
    expect(last.errors.find((e: any) => e.kind === 'upload:AccessDenied').message).toContain('s3:PutObject');
    expect(last.errors.find((e: any) => e.kind === 'upload:AccountProblem').message).toBe('S3 refused the write (AccountProblem); the function\'s log has S3\'s own message');
    expect(last.last_upload).toMatchObject({ ok: false, error: expect.stringContaining('AccountProblem') });
    expect(last.deep_check).toMatchObject({ ok: false, reused: true, error: expect.stringContaining('AccessDenied') });
    // Where the text went instead: the function's log (CloudWatch), one line for the kind.
    const logged = c.jsonLines('runtime').filter((l) => l.source === 'lambda-coverage' && l.kind === 'upload:AccountProblem');
    expect(logged).toHaveLength(1);
    expect(logged[0]!.message).toContain('SECRET-CANARY-account');
  });

  it('configuration values are not echoed: a bad value and an unknown variable are named, their values stay in the log', async () => {
    const c = await start('fn-secret-config', { COVERAGE_HEALTH_HTTP: '1', COVERAGE_FLUSH: 'SECRET-CANARY-flush', COVERAGE_API_TOKEN: 'SECRET-CANARY-unknown' });
    const answers = [await direct(c, false), await direct(c, true), (await overHttp(c, httpApiEvent({ deep: '1' }))).report];
    for (const report of answers.slice(0, 1)) expectDocumented(report);
    expectDocumented(answers[1], { deep_check: true });
    expectDocumented(answers[2], { deep_check_skipped: true });
    for (const report of answers) {
      expect(JSON.stringify(report)).not.toContain('SECRET');
      expect(report).toMatchObject({ status: 'unhealthy', coverage_enabled: false });
      expect(report.errors.map((e: any) => e.kind).sort()).toEqual(['config:COVERAGE_API_TOKEN', 'config:COVERAGE_FLUSH']);
      expect(report.errors.find((e: any) => e.kind === 'config:COVERAGE_FLUSH').message).toContain('COVERAGE_FLUSH');
    }
    // Coverage is off: the deep check writes nothing and says so.
    expect(answers[1]!.deep_check).toMatchObject({ ok: false, reused: false, error: 'coverage is off (see errors)' });
    expect(probePuts('fn-secret-config')).toBe(0);
    expect(c.jsonLines('runtime').some((l) => l.variable === 'COVERAGE_FLUSH' && String(l.message).includes('SECRET-CANARY-flush'))).toBe(true);
  });
});

describe('the probe window on the collector\'s clock (real writes to the local S3 server)', () => {
  let saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    // The runtime's S3 store takes credentials from the process environment, as on Lambda.
    const env = coverageEnv(proxy.endpoint);
    saved = { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY };
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY });
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  });

  it('one write per window; concurrent requests share it; a refused probe is limited too; nothing sent leaves the window open', async () => {
    const fn = 'fn-clock';
    const { config } = parseConfig(coverageEnv(proxy.endpoint, { AWS_LAMBDA_FUNCTION_NAME: fn }));
    const lines: string[] = [];
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const c = new Collector({ config, active: true, taskRoot: tempDir('clock'), handlerDir: tempDir('clock'), log: new CoverageLog((l) => lines.push(l)), now: () => clock });
    const probe = (budgetMs = 10_000) => c.probeWrite(clock + budgetMs);
    const stored = async () => JSON.parse((await awsGet(s3.endpoint, probeKey(fn))).bytes.toString('utf8')) as { at: string };

    const first = await probe();
    expect(first).toMatchObject({ ok: true, kind: null, reused: false, at: new Date(clock).toISOString() });
    expect(probePuts(fn)).toBe(1);
    clock += PROBE_WINDOW_MS - 1;
    expect(await probe()).toEqual({ ...first, reused: true });
    expect(probePuts(fn)).toBe(1);
    clock += 1;
    const second = await probe();
    expect(second).toMatchObject({ ok: true, reused: false, at: new Date(clock).toISOString() });
    expect(probePuts(fn)).toBe(2);
    expect((await stored()).at).toBe(second.at);

    clock += PROBE_WINDOW_MS;
    const both = await Promise.all([probe(), probe()]);
    expect(both.map((r) => r.reused).sort()).toEqual([false, true]);
    expect(probePuts(fn)).toBe(3);

    // Less time left than an upload needs: nothing is sent, so the next request may probe at once.
    clock += PROBE_WINDOW_MS;
    expect(await probe(100)).toMatchObject({ ok: false, kind: 'upload:deferred', reused: false });
    expect(probePuts(fn)).toBe(3);
    expect(await probe()).toMatchObject({ ok: true, reused: false });
    expect(probePuts(fn)).toBe(4);

    // A refused probe uses up its window too: asking again does not make S3 see another request.
    clock += PROBE_WINDOW_MS;
    proxy.refuse = { methods: ['PUT'], status: 403, body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>' };
    try {
      const refused = await probe();
      expect(refused).toMatchObject({ ok: false, kind: 'upload:AccessDenied', reused: false });
      expect(await probe()).toEqual({ ...refused, reused: true });
      expect(probePuts(fn)).toBe(5);
    } finally {
      proxy.refuse = null;
    }
    // The refused probe was logged, once: the reused answer did not log again.
    const refusedLines = lines.map((l) => JSON.parse(l)).filter((l) => l.kind === 'upload:AccessDenied');
    expect(refusedLines).toHaveLength(1);
    expect(refusedLines[0].message).toContain('deep health check: the probe write failed');
  });
});
