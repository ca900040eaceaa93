// A local Lambda sandbox on 127.0.0.1 for the tests, the demo and the benchmarks:
// - the Lambda Runtime API (2018-06-01: invocation/next, {id}/response incl. streamed responses,
//   {id}/error, init/error) and Extensions API (2020-01-01: register, event/next with INVOKE and
//   SHUTDOWN), both small and documented by AWS;
// - startContainer(): lays out the process like Lambda's bootstrap does (Lambda's variables,
//   AWS_LAMBDA_EXEC_WRAPPER run with the runtime command as its arguments, external extensions from
//   /opt/extensions started first) and runs AWS's real Node.js runtime interface client
//   (aws-lambda-ric) on Node 22.
// Invoke phases follow Lambda: the next invocation is given out only when the runtime and every
// extension subscribed to INVOKE have asked for the next event; with `freeze: true` the processes are
// stopped (SIGSTOP) between invocations, as Lambda freezes a sandbox.
//
// Fallback: where aws-lambda-ric cannot be loaded (no native build tools), `runtime: 'auto'` uses a
// small pure-JS runtime loop written here. It lacks: callbackWaitsForEmptyEventLoop=true waiting (a
// callback answers at once), true response streaming (the stream is buffered and sent at the end),
// X-Ray, structured log patching, and the runtime's exact error formatting. Tests use the real RIC.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Node 22 for the sandbox: this process if it is ≥ 22, else the project's node_modules/.bin/node. */
export function nodeBinary() {
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  const local = join(ROOT, 'node_modules', '.bin', 'node');
  if (existsSync(local)) return local;
  throw new Error('Node.js 22 is needed for the local Lambda sandbox (nodejs22.x); run with node_modules/.bin/node');
}

let ricCheck;
/** Whether aws-lambda-ric (with its native client) loads here; `reason` says why not. */
export function ricAvailable() {
  if (ricCheck !== undefined) return ricCheck;
  let entry;
  try {
    entry = join(dirname(require.resolve('aws-lambda-ric/package.json')), 'dist', 'index.mjs');
  } catch {
    return (ricCheck = { ok: false, reason: 'aws-lambda-ric is not installed (a dev dependency: `npm ci`; it needs autoconf automake libtool libcurl4-openssl-dev to build)' });
  }
  const probe = spawnSync(nodeBinary(), ['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(entry).href)})`], { encoding: 'utf8', timeout: 20_000 });
  ricCheck = probe.status === 0
    ? { ok: true, entry }
    : { ok: false, reason: `aws-lambda-ric does not load: ${(probe.stderr || probe.error?.message || '').split('\n').find((l) => l.trim()) ?? 'unknown error'}` };
  return ricCheck;
}

/**
 * Another aws-lambda-ric package (e.g. 4.x, the nodejs24.x client, installed elsewhere) by its
 * directory; 4.x is one index.mjs that starts itself on import.
 */
function ricPackage(dir) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (pkg.name !== 'aws-lambda-ric') throw new Error(`startContainer: ${dir} is not an aws-lambda-ric package`);
  const major = Number(String(pkg.version).split('.')[0]);
  return major >= 4
    ? { index: `// aws-lambda-ric ${pkg.version}: reads _HANDLER itself when imported.\nimport ${JSON.stringify(pathToFileURL(join(dir, pkg.main ?? 'index.mjs')).href)};\n`, version: pkg.version }
    : { index: RIC_INDEX(join(dir, 'dist', 'index.mjs')), version: pkg.version };
}

const RIC_INDEX = (entry) => `// Stands in for the managed runtime's /var/runtime/index.mjs: reads _HANDLER now (after the
// exec wrapper and NODE_OPTIONS preloads), then runs the real runtime interface client.
import { run } from ${JSON.stringify(pathToFileURL(entry).href)};
await run(process.env.LAMBDA_TASK_ROOT, process.env._HANDLER);
`;

const FALLBACK_INDEX = `// Pure-JS fallback runtime loop (see scripts/local/lambda.mjs for what it lacks).
import http from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const STREAM = Symbol.for('aws.lambda.runtime.handler.streaming');
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const root = process.env.LAMBDA_TASK_ROOT;
function call(method, path, body, headers = {}) {
  return new Promise((ok, ko) => {
    const req = http.request({ host, port: Number(port), method, path, headers }, (res) => {
      let data = ''; res.setEncoding('utf8'); res.on('data', (c) => { data += c; });
      res.on('end', () => ok({ headers: res.headers, body: data }));
    });
    req.on('error', ko); req.end(body);
  });
}
const errBody = (e) => JSON.stringify({ errorType: e?.name ?? 'Error', errorMessage: e?.message ?? String(e), trace: String(e?.stack ?? '').split('\\n') });
function isModule(file) {
  for (let d = dirname(file); ; d = dirname(d)) {
    const pj = join(d, 'package.json');
    if (existsSync(pj)) { try { return JSON.parse(readFileSync(pj, 'utf8')).type === 'module'; } catch { return false; } }
    if (dirname(d) === d) return false;
  }
}
async function load(h) {
  const base = basename(h); const dir = h.slice(0, h.length - base.length);
  const dot = base.indexOf('.'); const mod = base.slice(0, dot); const path = base.slice(dot + 1).split('.');
  const f = resolve(root, dir, mod); const req = createRequire(join(root, 'x.js'));
  let m;
  if (existsSync(f)) m = req(f);
  else if (existsSync(f + '.js') && !isModule(f + '.js')) m = req(f + '.js');
  else if (existsSync(f + '.js')) m = await import(pathToFileURL(f + '.js').href);
  else if (existsSync(f + '.mjs')) m = await import(pathToFileURL(f + '.mjs').href);
  else if (existsSync(f + '.cjs')) m = req(f + '.cjs');
  else throw Object.assign(new Error('Cannot find module ' + mod), { name: 'Runtime.ImportModuleError' });
  const fn = path.reduce((o, k) => o?.[k], m);
  if (typeof fn !== 'function') throw Object.assign(new Error(h + ' is undefined or not exported'), { name: 'Runtime.HandlerNotFound' });
  return fn;
}
globalThis.awslambda = { streamifyResponse: (h) => { h[STREAM] = 'response'; return h; }, HttpResponseStream: { from: (s) => s } };
let handler;
try { handler = await load(process.env._HANDLER); } catch (e) {
  await call('POST', '/2018-06-01/runtime/init/error', errBody(e), { 'Lambda-Runtime-Function-Error-Type': e.name ?? 'Error' });
  process.exit(1);
}
for (;;) {
  const next = await call('GET', '/2018-06-01/runtime/invocation/next');
  const id = next.headers['lambda-runtime-aws-request-id'];
  const deadline = Number(next.headers['lambda-runtime-deadline-ms']);
  const context = { awsRequestId: id, functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, callbackWaitsForEmptyEventLoop: true,
    invokedFunctionArn: next.headers['lambda-runtime-invoked-function-arn'], getRemainingTimeInMillis: () => deadline - Date.now() };
  const event = JSON.parse(next.body);
  try {
    let value;
    if (handler[STREAM] === 'response') {
      const chunks = [];
      const stream = { write: (c) => { chunks.push(Buffer.from(c)); return true; }, end: (c) => { if (c) chunks.push(Buffer.from(c)); }, setContentType() {} };
      await handler(event, stream, context);
      await call('POST', '/2018-06-01/runtime/invocation/' + id + '/response', Buffer.concat(chunks), { 'Lambda-Runtime-Function-Response-Mode': 'streaming' });
      continue;
    }
    value = await new Promise((ok, ko) => {
      const r = handler(event, context, (err, v) => (err ? ko(err) : ok(v)));
      if (r && typeof r.then === 'function') r.then(ok, ko);
    });
    await call('POST', '/2018-06-01/runtime/invocation/' + id + '/response', JSON.stringify(value === undefined ? null : value));
  } catch (e) {
    await call('POST', '/2018-06-01/runtime/invocation/' + id + '/error', errBody(e), { 'Lambda-Runtime-Function-Error-Type': e?.name ?? 'Error' });
  }
}
`;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res, status, value, headers = {}) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function parseJson(text) {
  try { return JSON.parse(text); } catch { return undefined; }
}

/** `promise`'s value, or `onTimeout` after `ms`; the timer is cleared either way, so it never keeps the process alive. */
async function within(promise, ms, onTimeout) {
  let timer;
  const timeout = new Promise((r) => { timer = setTimeout(() => r(onTimeout), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts one sandbox ("container") of a function.
 * @param {import('./lambda.d.mts').ContainerOptions} options
 * @returns {Promise<import('./lambda.d.mts').Container>}
 */
export async function startContainer(options) {
  const {
    taskRoot, optDir, handler, env = {}, runtime = 'ric', functionName = 'local-function', functionVersion = '$LATEST',
    memoryMb = 1024, timeoutMs = 30_000, freeze = false, managedInstances = false, shutdownMs = 2_000,
    initTimeoutMs = 20_000, echo = false, region = 'us-east-1', ricDir, executionEnv = 'AWS_Lambda_nodejs22.x',
  } = options;
  if (!taskRoot || !handler) throw new Error('startContainer: taskRoot and handler are required');

  let kind = runtime;
  if (ricDir !== undefined) kind = 'ric';
  else if (runtime === 'ric' || runtime === 'auto') {
    const ric = ricAvailable();
    if (!ric.ok) {
      if (runtime === 'ric') throw new Error(`startContainer: ${ric.reason}. Use runtime: 'auto' to fall back to the pure-JS loop.`);
      kind = 'js';
    } else kind = 'ric';
  }
  const sandbox = mkdtempSync(join(tmpdir(), 'lc-sandbox-'));
  // A given tmpDir stands for the /tmp of a sandbox whose runtime Lambda restarted (it survives).
  const sandboxTmp = options.tmpDir ?? join(sandbox, 'tmp');
  const runtimeDir = join(sandbox, 'var', 'runtime');
  mkdirSync(sandboxTmp, { recursive: true });
  mkdirSync(runtimeDir, { recursive: true });
  const index = ricDir !== undefined ? ricPackage(ricDir).index : kind === 'ric' ? RIC_INDEX(ricAvailable().entry) : FALLBACK_INDEX;
  writeFileSync(join(runtimeDir, 'index.mjs'), index);

  const logs = [];
  const arn = `arn:aws:lambda:${region}:000000000000:function:${functionName}`;
  const s = {
    runtimeWaiter: null,
    queue: [],
    current: null,
    extensions: new Map(),
    initDone: false,
    initError: null,
    dead: null,
    frozen: false,
    procs: [],
    runtimeProc: null,
    idleWaiters: [],
    initWaiters: [],
  };

  const server = createServer((req, res) => { route(req, res).catch((err) => json(res, 500, { errorMessage: String(err?.message ?? err) })); });
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 600_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const apiAddr = `127.0.0.1:${server.address().port}`;

  const nodeBin = nodeBinary();
  const lambdaEnv = {
    PATH: `${dirname(nodeBin)}:/usr/local/bin:/usr/bin:/bin`,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    TMPDIR: sandboxTmp,
    HOME: sandboxTmp,
    LAMBDA_TASK_ROOT: taskRoot,
    LAMBDA_RUNTIME_DIR: runtimeDir,
    _HANDLER: handler,
    AWS_LAMBDA_RUNTIME_API: apiAddr,
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: functionVersion,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${new Date().toISOString().slice(0, 10).replace(/-/g, '/')}/[${functionVersion}]${randomUUID().replace(/-/g, '')}`,
    AWS_EXECUTION_ENV: executionEnv,
    AWS_LAMBDA_INITIALIZATION_TYPE: managedInstances ? 'lambda-managed-instances' : 'on-demand',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    // Lambda's NODE_PATH; the project's node_modules stands in for /var/runtime/node_modules (the SDK).
    NODE_PATH: [optDir && join(optDir, 'nodejs', 'node22', 'node_modules'), optDir && join(optDir, 'nodejs', 'node_modules'),
      join(ROOT, 'node_modules'), runtimeDir, taskRoot].filter(Boolean).join(':'),
    ...env,
  };

  function log(source, chunk) {
    for (const line of String(chunk).split('\n')) {
      if (line === '') continue;
      logs.push({ source, line });
      if (echo) process.stderr.write(`[${functionName}:${source}] ${line}\n`);
    }
  }

  function spawnProc(name, cmd, args) {
    const child = spawn(cmd, args, { cwd: taskRoot, env: lambdaEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (c) => log(name, c));
    child.stderr.on('data', (c) => log(name, c));
    const entry = { name, child, exited: null };
    entry.exit = new Promise((resolve) => {
      child.on('exit', (code, signal) => { entry.exited = { code, signal }; resolve(entry.exited); onExit(entry); });
      child.on('error', (err) => { log(name, `spawn failed: ${err.message}`); entry.exited = { code: -1, signal: null }; resolve(entry.exited); onExit(entry); });
    });
    s.procs.push(entry);
    return entry;
  }

  function onExit(entry) {
    if (s.shuttingDown) return;
    if (entry === s.runtimeProc || !s.initDone) {
      const msg = `${entry.name} exited (${entry.exited.signal ?? entry.exited.code}) during ${s.current ? 'an invocation' : 'init'}`;
      die({ errorType: entry === s.runtimeProc ? 'Runtime.ExitError' : 'Extension.Crash', errorMessage: msg });
    }
  }

  function die(error) {
    if (s.dead) return;
    s.dead = error;
    thaw();
    if (s.current) finishInvoke(s.current, { ok: false, errorType: error.errorType, payload: error, streamed: false, body: JSON.stringify(error) });
    for (const q of s.queue.splice(0)) finishInvoke(q, { ok: false, errorType: error.errorType, payload: error, streamed: false, body: JSON.stringify(error) });
    for (const p of s.procs) if (!p.exited) p.child.kill('SIGKILL');
    for (const w of s.initWaiters.splice(0)) w.reject(new Error(`init failed: ${error.errorType}: ${error.errorMessage}`));
    for (const w of s.idleWaiters.splice(0)) w();
  }

  function freezeAll() {
    if (!freeze || s.frozen || s.dead) return;
    s.frozen = true;
    for (const p of s.procs) if (!p.exited) try { process.kill(p.child.pid, 'SIGSTOP'); } catch { /* gone */ }
  }

  function thaw() {
    if (!s.frozen) return;
    s.frozen = false;
    for (const p of s.procs) if (!p.exited) try { process.kill(p.child.pid, 'SIGCONT'); } catch { /* gone */ }
  }

  const invokeSubscribers = () => [...s.extensions.values()].filter((e) => e.events.has('INVOKE'));

  function checkInitDone() {
    if (s.initDone || s.dead) return;
    if (s.runtimeWaiter && [...s.extensions.values()].every((e) => e.waiter || e.nexted)) {
      s.initDone = true;
      for (const w of s.initWaiters.splice(0)) w.resolve();
      tick();
    }
  }

  /** Ends the current invoke phase when the runtime and every INVOKE extension asked for more. */
  function tick() {
    if (s.dead || !s.initDone) return;
    if (s.current) {
      const c = s.current;
      if (c.result && s.runtimeWaiter && invokeSubscribers().every((e) => e.waiter)) {
        s.current = null;
        clearTimeout(c.timer);
        c.phaseEndResolve(Date.now());
      } else return;
    }
    if (s.queue.length === 0) {
      for (const w of s.idleWaiters.splice(0)) w();
      freezeAll();
      return;
    }
    if (!s.runtimeWaiter || !invokeSubscribers().every((e) => e.waiter)) return;
    thaw();
    const inv = s.queue.shift();
    s.current = inv;
    inv.startedAt = Date.now();
    inv.deadline = inv.startedAt + timeoutMs;
    inv.timer = setTimeout(() => {
      if (inv.result) return;
      log('harness', `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds (${inv.id})`);
      const err = { errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds` };
      finishInvoke(inv, { ok: false, errorType: err.errorType, payload: err, streamed: false, body: JSON.stringify(err), timedOut: true });
      die(err);
    }, timeoutMs);
    const res = s.runtimeWaiter;
    s.runtimeWaiter = null;
    const body = JSON.stringify(inv.event);
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'Lambda-Runtime-Aws-Request-Id': inv.id,
      'Lambda-Runtime-Deadline-Ms': String(inv.deadline),
      'Lambda-Runtime-Invoked-Function-Arn': arn,
      'Lambda-Runtime-Trace-Id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)};Sampled=0`,
      ...(inv.clientContext ? { 'Lambda-Runtime-Client-Context': JSON.stringify(inv.clientContext) } : {}),
    });
    res.end(body);
    for (const ext of invokeSubscribers()) {
      sendEvent(ext, { eventType: 'INVOKE', deadlineMs: inv.deadline, requestId: inv.id, invokedFunctionArn: arn, tracing: { type: 'X-Amzn-Trace-Id', value: '' } });
    }
  }

  function sendEvent(ext, event) {
    if (ext.waiter) {
      const w = ext.waiter;
      ext.waiter = null;
      json(w, 200, event, { 'Lambda-Extension-Event-Identifier': randomUUID() });
    } else ext.pending.push(event);
  }

  function finishInvoke(inv, result) {
    if (inv.result) return;
    inv.result = { ...result, requestId: inv.id, latencyMs: performance.now() - inv.queuedAt, phaseEnd: inv.phaseEnd };
    inv.resolve(inv.result);
    if (result.timedOut || s.dead) inv.phaseEndResolve(Date.now());
    tick();
  }

  async function route(req, res) {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname;
    if (req.method === 'GET' && p === '/2018-06-01/runtime/invocation/next') {
      if (s.runtimeWaiter) json(s.runtimeWaiter, 400, { errorMessage: 'superseded' });
      if (s.runtimeReadyAt === undefined) s.runtimeReadyAt = performance.now();
      s.runtimeWaiter = res;
      checkInitDone();
      tick();
      return;
    }
    let m = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(p);
    if (req.method === 'POST' && m) {
      const id = decodeURIComponent(m[1]);
      const bytes = await readBody(req);
      const inv = s.current && s.current.id === id ? s.current : null;
      if (!inv || inv.result) { json(res, 400, { errorMessage: `invocation ${id} is not in flight`, errorType: 'InvalidRequestID' }); return; }
      const streamed = String(req.headers['lambda-runtime-function-response-mode'] ?? '').toLowerCase() === 'streaming';
      const text = bytes.toString('utf8');
      if (m[2] === 'error') {
        // Like Lambda's Invoke API: the error type a caller sees is the one in the body.
        const payload = parseJson(text);
        finishInvoke(inv, { ok: false, errorType: payload?.errorType ?? req.headers['lambda-runtime-function-error-type'] ?? 'Unhandled', payload, body: text, streamed });
      } else {
        const trailerType = req.trailers?.['lambda-runtime-function-error-type'];
        if (trailerType) {
          const b64 = req.trailers['lambda-runtime-function-error-body'];
          const errText = b64 ? Buffer.from(b64, 'base64').toString('utf8') : '';
          finishInvoke(inv, { ok: false, errorType: trailerType, payload: parseJson(errText), body: text, streamed });
        } else {
          finishInvoke(inv, { ok: true, payload: parseJson(text), body: text, streamed });
        }
      }
      json(res, 202, { status: 'OK' });
      return;
    }
    if (req.method === 'POST' && p === '/2018-06-01/runtime/init/error') {
      const text = (await readBody(req)).toString('utf8');
      const payload = parseJson(text) ?? { errorMessage: text };
      s.initError = { errorType: req.headers['lambda-runtime-function-error-type'] ?? payload.errorType ?? 'Runtime.InitError', ...payload };
      json(res, 202, { status: 'OK' });
      die(s.initError);
      return;
    }
    if (req.method === 'POST' && p === '/2020-01-01/extension/register') {
      const name = req.headers['lambda-extension-name'];
      const body = parseJson((await readBody(req)).toString('utf8')) ?? {};
      const events = new Set(Array.isArray(body.events) ? body.events : []);
      if (!name) { json(res, 400, { errorType: 'Extension.InvalidRequest', errorMessage: 'Lambda-Extension-Name header is required' }); return; }
      if (managedInstances && events.has('INVOKE')) {
        json(res, 400, { errorType: 'Extension.UnsupportedEvent', errorMessage: 'INVOKE events are not available on Lambda Managed Instances' });
        return;
      }
      if (s.initDone) { json(res, 403, { errorType: 'Extension.InvalidState', errorMessage: 'registration is only allowed during init' }); return; }
      const id = randomUUID();
      s.extensions.set(id, { id, name, events, waiter: null, pending: [], nexted: false });
      json(res, 200, { functionName, functionVersion, handler }, { 'Lambda-Extension-Identifier': id });
      s.registered?.();
      return;
    }
    if (req.method === 'GET' && p === '/2020-01-01/extension/event/next') {
      const ext = s.extensions.get(req.headers['lambda-extension-identifier']);
      if (!ext) { json(res, 403, { errorType: 'Extension.InvalidExtensionIdentifier', errorMessage: 'unknown Lambda-Extension-Identifier' }); return; }
      ext.nexted = true;
      ext.waiter = res;
      if (ext.pending.length > 0) sendEvent(ext, ext.pending.shift());
      checkInitDone();
      tick();
      return;
    }
    m = /^\/2020-01-01\/extension\/(init|exit)\/error$/.exec(p);
    if (req.method === 'POST' && m) {
      const text = (await readBody(req)).toString('utf8');
      log('harness', `extension ${m[1]} error: ${req.headers['lambda-extension-function-error-type'] ?? ''} ${text}`);
      json(res, 202, { status: 'OK' });
      return;
    }
    json(res, 404, { errorMessage: `no route ${req.method} ${p}` });
  }

  // Init: external extensions first (Lambda waits for them to register), then the runtime.
  const extDir = optDir ? join(optDir, 'extensions') : undefined;
  const extFiles = extDir && existsSync(extDir)
    ? readdirSync(extDir).filter((f) => { try { return statSync(join(extDir, f)).isFile(); } catch { return false; } }).sort()
    : [];
  const registeredAll = new Promise((resolve) => {
    s.registered = () => { if (s.extensions.size >= extFiles.length) resolve(); };
    if (extFiles.length === 0) resolve();
  });
  const initStart = performance.now();
  for (const f of extFiles) spawnProc(`extension:${f}`, join(extDir, f), []);
  if ((await within(registeredAll, initTimeoutMs, 'timeout')) === 'timeout' && !s.dead) {
    die({ errorType: 'Extension.InitError', errorMessage: `extensions did not register within ${initTimeoutMs} ms` });
  }
  const runtimeArgs = [join(runtimeDir, 'index.mjs')];
  const wrapper = lambdaEnv.AWS_LAMBDA_EXEC_WRAPPER;
  if (!s.dead) {
    s.runtimeSpawnAt = performance.now();
    s.runtimeProc = wrapper
      ? spawnProc('runtime', wrapper, [nodeBin, ...runtimeArgs])
      : spawnProc('runtime', nodeBin, runtimeArgs);
  }
  const initDone = new Promise((resolve, reject) => {
    if (s.initDone) resolve();
    else if (s.dead) reject(new Error(`init failed: ${s.dead.errorType}: ${s.dead.errorMessage}`));
    else s.initWaiters.push({ resolve, reject });
  });
  initDone.catch(() => undefined);
  const initTimer = setTimeout(() => { if (!s.initDone) die({ errorType: 'Runtime.InitTimeout', errorMessage: `init did not finish within ${initTimeoutMs} ms` }); }, initTimeoutMs);
  initDone.finally(() => clearTimeout(initTimer)).catch(() => undefined);
  let initMs;
  initDone.then(() => { initMs = performance.now() - initStart; }, () => undefined);

  const container = {
    kind,
    runtimeApi: apiAddr,
    sandbox,
    tmpDir: sandboxTmp,
    logs,
    get initMs() { return initMs; },
    /** From the runtime's spawn to its first request for an invocation (function init, without extensions). */
    get runtimeInitMs() { return s.runtimeReadyAt === undefined ? undefined : s.runtimeReadyAt - s.runtimeSpawnAt; },
    get dead() { return s.dead; },
    get pids() { return s.procs.map((p) => ({ name: p.name, pid: p.child.pid, exited: p.exited })); },
    initDone,
    invoke(event, opts = {}) {
      if (s.dead) {
        const err = s.dead;
        return Promise.resolve({ ok: false, errorType: err.errorType, payload: err, body: JSON.stringify(err), streamed: false, requestId: '', latencyMs: 0, phaseEnd: Promise.resolve(Date.now()) });
      }
      return new Promise((resolve) => {
        const inv = { id: randomUUID(), event, clientContext: opts.clientContext, resolve, queuedAt: performance.now(), result: null };
        inv.phaseEnd = new Promise((r) => { inv.phaseEndResolve = r; });
        s.queue.push(inv);
        tick();
      });
    },
    /** Resolves when no invocation is queued or in flight (the invoke phase is over). */
    idle() {
      if (s.dead || (!s.current && s.queue.length === 0 && s.initDone)) return Promise.resolve();
      return new Promise((r) => s.idleWaiters.push(r));
    },
    lines(source) {
      return logs.filter((l) => source === undefined || l.source.startsWith(source)).map((l) => l.line);
    },
    jsonLines(source) {
      return container.lines(source).map(parseJson).filter((v) => v !== undefined && typeof v === 'object' && v !== null);
    },
    /** SHUTDOWN to extensions, SIGTERM to the runtime (only when an extension registered, as Lambda does), SIGKILL after `shutdownMs`. */
    async shutdown({ keepSandbox = false } = {}) {
      s.shuttingDown = true;
      thaw();
      const deadlineMs = Date.now() + shutdownMs;
      for (const ext of s.extensions.values()) if (ext.events.has('SHUTDOWN')) sendEvent(ext, { eventType: 'SHUTDOWN', shutdownReason: 'spindown', deadlineMs });
      const live = s.procs.filter((p) => !p.exited);
      if (s.runtimeProc && !s.runtimeProc.exited) s.runtimeProc.child.kill(s.extensions.size > 0 ? 'SIGTERM' : 'SIGKILL');
      const all = Promise.all(live.map((p) => p.exit));
      const timedOut = await within(all.then(() => false), shutdownMs, true);
      if (timedOut) for (const p of live) if (!p.exited) p.child.kill('SIGKILL');
      await within(all, 2_000);
      if (s.runtimeWaiter) { s.runtimeWaiter.destroy(); s.runtimeWaiter = null; }
      for (const ext of s.extensions.values()) ext.waiter?.destroy();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(() => r()));
      if (!keepSandbox) rmSync(sandbox, { recursive: true, force: true });
      return { timedOut, exits: s.procs.map((p) => ({ name: p.name, ...p.exited })) };
    },
  };
  return container;
}
