// One table of COVERAGE_* values, run against the configuration module (runtime/env.ts) and every part
// that reads it (plugin, runtime, combiner) AND against the layer's three shells, which cannot import it:
// the exec wrapper (run as Lambda runs it, through its #!/bin/sh, and under bash, which is /bin/sh on
// Amazon Linux), the preload (node --require) and the bash extension (against a small Extensions API
// server below: it registers for INVOKE only when it will hold invocations). So none of them can drift.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveS3Settings } from '../../combiner/s3.js';
import { resolveOptions } from '../../plugin/options.js';
import { parseConfig } from '../../runtime/config.js';
import { CoverageEnvError, FALSE_VALUES, RUNTIME_VARIABLES, TRUE_VALUES, isCoverageEnabled, parseFlag } from '../../runtime/env.js';
import { nodeBinary } from '../../scripts/local/lambda.mjs';

const ROOT = join(import.meta.dirname, '..', '..');
const WRAPPER = join(ROOT, 'layer', 'lambda-coverage');
const PRELOAD = join(ROOT, 'layer', 'preload.cjs');
const EXTENSION = join(ROOT, 'layer', 'extensions', 'lambda-coverage');
const run = promisify(execFile);

/** A flag's value and what every reader must make of it: on, off, or not a flag (which is off). */
const FLAGS: [value: string | undefined, meaning: boolean | 'invalid'][] = [
  ['1', true], ['true', true], ['TRUE', true], ['True', true], ['tRuE', true], ['yes', true], ['YES', true],
  ['y', true], ['t', true], ['on', true], ['On', true], [' 1 ', true], ['\ttrue\n', true], ['  yes', true],
  ['0', false], ['false', false], ['FALSE', false], ['no', false], ['n', false], ['f', false], ['off', false],
  [' 0 ', false], ['', false], ['   ', false], [undefined, false],
  ['garbage', 'invalid'], ['2', 'invalid'], ['-1', 'invalid'], ['enabled', 'invalid'], ['o n', 'invalid'],
  ['1 1', 'invalid'], ['truee', 'invalid'], ['"1"', 'invalid'], ['yes please', 'invalid'],
];

/** COVERAGE_FLUSH values with COVERAGE_ENABLED=1: the extension holds invocations only for `deferred`. */
const FLUSH: (string | undefined)[] = ['deferred', 'DEFERRED', ' Deferred\t', 'inline', 'INLINE', '', undefined, 'later', 'de ferred', 'deferred!'];

/** COVERAGE_UPLOAD_TIMEOUT values the runtime accepts, small enough to wait for the extension's bound. */
const TIMEOUTS = ['0.2', ' .2 ', '+0.2', '000.2', '0.2000', '0.25'];

const on = (meaning: boolean | 'invalid'): boolean => meaning === true;
const show = (v: string | undefined): string => (v === undefined ? '(unset)' : JSON.stringify(v));
const withVar = (name: string, v: string | undefined, rest: Record<string, string> = {}): Record<string, string> =>
  (v === undefined ? { ...rest } : { ...rest, [name]: v });
const LAYER_ON = { COVERAGE_ENABLED: '1', COVERAGE_S3_BUCKET: 'cov-bucket', AWS_REGION: 'us-east-1' };

describe('the configuration module and its readers', () => {
  it('has one true set and one false set, documented in README.md and docs/runtime.md', () => {
    expect(TRUE_VALUES).toEqual(['1', 'true', 't', 'yes', 'y', 'on']);
    expect(FALSE_VALUES).toEqual(['0', 'false', 'f', 'no', 'n', 'off']);
    for (const doc of ['README.md', 'docs/runtime.md']) {
      expect(readFileSync(join(ROOT, doc), 'utf8'), doc).toContain('`1`, `true`, `t`, `yes`, `y`, `on` turn it on; `0`, `false`, `f`, `no`, `n`, `off` or unset leave it off');
    }
  });

  it.each(FLAGS)('%j is %s for every TypeScript reader', (v, meaning) => {
    expect(parseFlag(v)).toBe(meaning === 'invalid' ? undefined : meaning);
    expect(isCoverageEnabled(withVar('COVERAGE_ENABLED', v))).toBe(on(meaning));
    expect(resolveOptions({}, { env: withVar('COVERAGE_ENABLED', v), cores: 1 }).enabled).toBe(on(meaning));
    expect(parseConfig(withVar('COVERAGE_ENABLED', v, { COVERAGE_S3_BUCKET: 'cov-bucket' })).config.enabled).toBe(on(meaning));

    const runtime = parseConfig(withVar('COVERAGE_S3_FORCE_PATH_STYLE', v, LAYER_ON));
    expect(runtime.config.forcePathStyle).toBe(on(meaning));
    expect(runtime.ok).toBe(meaning !== 'invalid');
    if (meaning === 'invalid') {
      expect(runtime.problems[0]?.message).toMatch(/^COVERAGE_S3_FORCE_PATH_STYLE=.* is not a flag; use 1, true, yes or on/);
      expect(() => resolveS3Settings({}, withVar('COVERAGE_S3_FORCE_PATH_STYLE', v))).toThrow(CoverageEnvError);
      expect(() => resolveS3Settings({}, withVar('COVERAGE_S3_FORCE_PATH_STYLE', v))).toThrow(/COVERAGE_S3_FORCE_PATH_STYLE=.* is not a flag/);
    } else {
      expect(resolveS3Settings({}, withVar('COVERAGE_S3_FORCE_PATH_STYLE', v)).forcePathStyle).toBe(meaning);
    }
  });

  it('the variables tables of README.md and docs/runtime.md name every variable the layer reads, and no other', () => {
    for (const doc of ['README.md', 'docs/runtime.md']) {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      const table = text.slice(text.indexOf('| Variable | Description | Type | Default |'));
      const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
      const names = new Set(rows.flatMap((r) => [...(r.split('|')[1] ?? '').matchAll(/`(COVERAGE_[A-Z0-9_]+)/g)].map((m) => m[1])));
      expect([...names].sort(), doc).toEqual([...RUNTIME_VARIABLES].sort());
    }
  });
});

describe('the layer\'s shells read COVERAGE_ENABLED as the module does', () => {
  const echo = ['/bin/sh', '-c', 'printf %s "$_HANDLER"'];
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', _HANDLER: 'index.handler' };

  it.each(FLAGS)('exec wrapper (/bin/sh and bash): %j', async (v, meaning) => {
    const env = withVar('COVERAGE_ENABLED', v, base);
    for (const [file, args] of [[WRAPPER, echo], ['bash', [WRAPPER, ...echo]]] as const) {
      const { stdout } = await run(file, args, { env });
      expect(stdout, `${file} ${show(v)}`).toBe(on(meaning) ? join(ROOT, 'layer/nodejs/node_modules/lambda-coverage/layer/shim.handler') : 'index.handler');
    }
  });

  it.each(FLAGS)('preload: %j', async (v, meaning) => {
    const env = withVar('COVERAGE_ENABLED', v, { ...base, AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9' });
    const { stdout } = await run(nodeBinary(), ['--require', PRELOAD, '-e', 'process.stdout.write(process.env._HANDLER)'], { env });
    expect(stdout).toBe(on(meaning) ? join(ROOT, 'layer/shim.handler') : 'index.handler');
  });

  it.each(FLAGS)('extension (deferred): %j', async (v, meaning) => {
    const r = await runExtension(withVar('COVERAGE_ENABLED', v, { COVERAGE_FLUSH: 'deferred' }));
    expect(r.events).toEqual(on(meaning) ? ['INVOKE', 'SHUTDOWN'] : ['SHUTDOWN']);
  });

  it.each(FLUSH)('extension: COVERAGE_FLUSH=%j', async (v) => {
    const parsed = parseConfig(withVar('COVERAGE_FLUSH', v, LAYER_ON));
    const deferred = parsed.ok && parsed.config.flush === 'deferred';
    const r = await runExtension(withVar('COVERAGE_FLUSH', v, { COVERAGE_ENABLED: '1' }));
    expect(r.events).toEqual(deferred ? ['INVOKE', 'SHUTDOWN'] : ['SHUTDOWN']);
  });

  it.each(TIMEOUTS)('extension: COVERAGE_UPLOAD_TIMEOUT=%j bounds a hold as the runtime bounds an upload (plus 1 s)', async (v) => {
    const parsed = parseConfig({ ...LAYER_ON, COVERAGE_FLUSH: 'deferred', COVERAGE_UPLOAD_TIMEOUT: v });
    expect(parsed.ok).toBe(true);
    const r = await runExtension({ COVERAGE_ENABLED: '1', COVERAGE_FLUSH: 'deferred', COVERAGE_UPLOAD_TIMEOUT: v }, { invoke: true });
    // The runtime never says "done" here: the extension lets go at its bound, uploadTimeoutMs + 1000.
    expect(r.heldMs).toBeGreaterThanOrEqual(parsed.config.uploadTimeoutMs + 1000 - 20);
    expect(r.heldMs).toBeLessThan(parsed.config.uploadTimeoutMs + 1000 + 1500);
  });
});

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/**
 * Runs the real extension against a minimal Extensions API (register, event/next): the events it
 * registers for, and with `invoke` how long it held one INVOKE for a runtime that said "ready" and
 * never "done". Not the whole local Lambda (scripts/local/lambda.mjs): only what the table needs.
 */
async function runExtension(vars: Record<string, string>, { invoke = false } = {}): Promise<{ events: string[]; heldMs: number }> {
  const tmp = mkdtempSync(join(tmpdir(), 'lc-env-ext-'));
  dirs.push(tmp);
  let events: string[] = [];
  let nexts = 0;
  let invokedAt = 0;
  let heldMs = -1;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/2020-01-01/extension/register') {
        events = (JSON.parse(body) as { events: string[] }).events;
        res.writeHead(200, { 'Lambda-Extension-Identifier': 'ext-1', 'Content-Type': 'application/json' }).end('{}');
        return;
      }
      nexts++;
      if (invoke && nexts === 1) {
        // What the runtime writes at its cold start when its configuration is valid.
        writeFileSync(join(tmp, 'lambda-coverage', 'extension.fifo'), 'ready\n');
        invokedAt = performance.now();
        res.end(JSON.stringify({ eventType: 'INVOKE', requestId: 'req-1', deadlineMs: Date.now() + 600_000 }));
        return;
      }
      if (invoke && nexts === 2) heldMs = performance.now() - invokedAt;
      res.end(JSON.stringify({ eventType: 'SHUTDOWN', shutdownReason: 'spindown', deadlineMs: Date.now() + 2000 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as AddressInfo;
    const child = spawn(EXTENSION, [], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: tmp, AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}`, ...vars },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const code = await new Promise<number | null>((resolveExit) => child.on('exit', resolveExit));
    expect(code).toBe(0);
    return { events, heldMs };
  } finally {
    server.close();
  }
}
