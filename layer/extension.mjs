// The lambda-coverage external extension (Lambda Extensions API 2020-01-01). Plain Node, no imports
// beyond node:*, so it starts in a few ms.
// - Always registers for SHUTDOWN: Lambda then sends SIGTERM to the runtime, whose handler makes a
//   last flush.
// - With COVERAGE_ENABLED=1 and COVERAGE_FLUSH=deferred it also registers for INVOKE and holds each
//   invoke phase open until the runtime reports `done <requestId>` on a Unix socket (or a time bound
//   passes), so the response goes out first and the upload finishes before Lambda freezes the sandbox.
//   Where INVOKE is refused (Lambda Managed Instances) it registers for SHUTDOWN only and says so in
//   extension.json; the runtime then flushes inline and reports that in its health check.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NAME = 'lambda-coverage';
const env = process.env;
const [host, port] = String(env.AWS_LAMBDA_RUNTIME_API ?? '').split(':');
const enabled = env.COVERAGE_ENABLED === '1' || String(env.COVERAGE_ENABLED).toLowerCase() === 'true';
const deferred = enabled && String(env.COVERAGE_FLUSH ?? '').trim().toLowerCase() === 'deferred';
const uploadTimeoutMs = (Number(env.COVERAGE_UPLOAD_TIMEOUT) > 0 ? Number(env.COVERAGE_UPLOAD_TIMEOUT) : 30) * 1000;
const dir = join(tmpdir(), 'lambda-coverage');
const socketPath = join(dir, 'extension.sock');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function log(message, fields = {}) {
  process.stdout.write(JSON.stringify({ level: 'INFO', source: 'lambda-coverage-extension', message, ...fields }) + '\n');
}

function call(method, path, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: Number(port), method, path, agent, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function register(events) {
  const body = JSON.stringify({ events });
  const res = await call('POST', '/2020-01-01/extension/register', {
    'Lambda-Extension-Name': NAME, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
  }, body);
  if (res.status !== 200) {
    let msg = res.body;
    try { const j = JSON.parse(res.body); msg = `${j.errorType ?? ''} ${j.errorMessage ?? ''}`.trim(); } catch { /* raw */ }
    return { ok: false, error: `HTTP ${res.status}: ${msg}` };
  }
  return { ok: true, id: res.headers['lambda-extension-identifier'] };
}

// Requests the runtime has finished uploading for, and the one invoke we are waiting on.
const done = new Set();
let waiting = null;

function startSocket() {
  mkdirSync(dir, { recursive: true });
  rmSync(socketPath, { force: true });
  const server = createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith('done ')) continue;
        const id = line.slice(5);
        if (waiting !== null && waiting.id === id) waiting.release('done');
        else { done.add(id); if (done.size > 100) done.delete(done.values().next().value); }
      }
    });
    conn.on('error', () => {});
  });
  return new Promise((resolve) => {
    server.once('error', (err) => resolve(`cannot listen on ${socketPath}: ${err.message}`));
    server.listen(socketPath, () => { server.unref(); resolve(null); });
  });
}

function holdInvoke(event) {
  const id = event.requestId;
  if (done.delete(id)) return Promise.resolve('done');
  const untilDeadline = typeof event.deadlineMs === 'number' ? event.deadlineMs - Date.now() - 100 : uploadTimeoutMs;
  const bound = Math.max(0, Math.min(untilDeadline, uploadTimeoutMs + 1000));
  return new Promise((resolve) => {
    const timer = setTimeout(() => { waiting = null; resolve('timeout'); }, bound);
    waiting = { id, release: (why) => { clearTimeout(timer); waiting = null; resolve(why); } };
  });
}

function writeInfo(info) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'extension.json.part'), JSON.stringify(info));
  renameSync(join(dir, 'extension.json.part'), join(dir, 'extension.json'));
}

async function main() {
  let reg = await register(deferred ? ['INVOKE', 'SHUTDOWN'] : ['SHUTDOWN']);
  let invoke = deferred && reg.ok;
  let note = null;
  if (deferred && !reg.ok) {
    note = `INVOKE subscription refused (${reg.error}); Lambda Managed Instances do not offer it`;
    reg = await register(['SHUTDOWN']);
  }
  if (!reg.ok) {
    log('registration failed', { error: reg.error });
    process.exit(1);
  }
  if (invoke) {
    const failed = await startSocket();
    // Registered for INVOKE but cannot hear from the runtime: keep answering, release at once.
    if (failed !== null) { invoke = false; note = failed; }
  }
  writeInfo({ socket: socketPath, invoke, note });
  for (;;) {
    const res = await call('GET', '/2020-01-01/extension/event/next', { 'Lambda-Extension-Identifier': reg.id });
    if (res.status !== 200) {
      log('event/next failed', { status: res.status, body: res.body.slice(0, 200) });
      process.exit(1);
    }
    const event = JSON.parse(res.body);
    if (event.eventType === 'SHUTDOWN') process.exit(0);
    if (event.eventType === 'INVOKE' && invoke) {
      const why = await holdInvoke(event);
      if (why === 'timeout') log('released an invocation without an upload report from the runtime', { requestId: event.requestId });
    }
  }
}

main().catch((err) => {
  log('extension failed', { error: String(err?.message ?? err) });
  process.exit(1);
});
