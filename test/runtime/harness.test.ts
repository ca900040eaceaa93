// The local Lambda harness itself (used by the tests, the demo and the benchmarks): init errors,
// the deadline, the pure-JS fallback loop, extension registration and event order.
import { writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ricAvailable, startContainer } from '../../scripts/local/lambda.mjs';
import { writeFixture } from './fixtures.js';
import { tempDir } from './helpers.js';

const ric = ricAvailable();
const dRic = ric.ok ? describe : describe.skip;

dRic('local Lambda harness with aws-lambda-ric', () => {
  it('a missing handler file is an init error the invocation reports', async () => {
    const taskRoot = tempDir('task');
    const c = await startContainer({ taskRoot, handler: 'nope.handler' });
    await expect(c.initDone).rejects.toThrow(/ImportModuleError/);
    const r = await c.invoke({});
    expect(r.ok).toBe(false);
    expect(r.errorType).toBe('Runtime.ImportModuleError');
    await c.shutdown();
  });

  it('past the deadline the sandbox is killed and the invocation times out', async () => {
    const taskRoot = tempDir('task');
    writeFileSync(join(taskRoot, 'index.js'), 'exports.handler = async (e, ctx) => { await new Promise((r) => setTimeout(r, 5000)); return ctx.getRemainingTimeInMillis(); };');
    const c = await startContainer({ taskRoot, handler: 'index.handler', timeoutMs: 400 });
    await c.initDone;
    const r = await c.invoke({});
    expect(r).toMatchObject({ ok: false, errorType: 'Sandbox.Timedout', timedOut: true });
    expect(c.dead?.errorType).toBe('Sandbox.Timedout');
    await c.shutdown();
  });

  it('extensions register before the runtime starts, get INVOKE with the request id, and SHUTDOWN', async () => {
    const taskRoot = tempDir('task');
    const opt = tempDir('opt');
    const fx = writeFixture(taskRoot, 'cjs-async', false);
    mkdirSync(join(opt, 'extensions'));
    const log = join(taskRoot, 'events.log');
    // A tiny external extension in Node that logs every event it gets.
    writeFileSync(join(opt, 'extensions', 'recorder'), `#!/usr/bin/env node
const http = require('node:http'); const fs = require('node:fs');
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const call = (method, path, headers, body) => new Promise((ok) => { const r = http.request({ host, port, method, path, headers }, (res) => { let d = ''; res.on('data', (c) => d += c); res.on('end', () => ok({ h: res.headers, d })); }); r.end(body); });
(async () => {
  const reg = await call('POST', '/2020-01-01/extension/register', { 'Lambda-Extension-Name': 'recorder' }, JSON.stringify({ events: ['INVOKE', 'SHUTDOWN'] }));
  const id = reg.h['lambda-extension-identifier'];
  for (;;) { const e = JSON.parse((await call('GET', '/2020-01-01/extension/event/next', { 'Lambda-Extension-Identifier': id })).d); fs.appendFileSync(${JSON.stringify(log)}, e.eventType + ' ' + (e.requestId || '') + '\\n'); if (e.eventType === 'SHUTDOWN') process.exit(0); }
})();
`);
    chmodSync(join(opt, 'extensions', 'recorder'), 0o755);
    const c = await startContainer({ taskRoot, optDir: opt, handler: fx.handler });
    await c.initDone;
    const r = await c.invoke({ n: 1 });
    expect(r.ok).toBe(true);
    await r.phaseEnd;
    const result = await c.shutdown({ keepSandbox: false });
    expect(result.exits.find((e) => e.name === 'extension:recorder')).toMatchObject({ code: 0 });
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(log, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean)).toEqual([`INVOKE ${r.requestId}`, 'SHUTDOWN']);
  });
});

describe('pure-JS fallback runtime loop', () => {
  it('runs async, callback and streaming handlers and reports errors', async () => {
    for (const shape of ['cjs-async', 'cjs-callback', 'streaming'] as const) {
      const taskRoot = tempDir('task');
      const fx = writeFixture(taskRoot, shape, false);
      const c = await startContainer({ taskRoot, handler: fx.handler, runtime: 'js' });
      await c.initDone;
      expect(c.kind).toBe('js');
      const ok = await c.invoke({ n: 3 });
      expect(ok.ok).toBe(true);
      expect(ok.body).toContain('"n":3');
      const bad = await c.invoke({ fail: 'y' });
      expect(bad.ok).toBe(false);
      if (shape !== 'streaming') expect(bad.errorType).toBe('FixtureError');
      await c.shutdown();
    }
  });
});
