/**
 * withCoverage(handler): the one code path used by the layer's shim and by bundled use. The user's
 * result and error pass through untouched; coverage problems are logged and never reach the caller.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Collector, FlushResult } from './collector.js';
import { isCoverageEnabled, parseConfig, type ConfigResult, type FlushMode } from './config.js';
import { ExtensionLink, readExtensionInfo } from './extension-link.js';
import { parseHealthRequest } from './health-request.js';
import { CoverageLog } from './log.js';
import { handlerDir } from './manifest.js';

// Cold start loads only this module, config, log, the health-request matcher and the extension link
// (deferred mode tells the extension "ready" then: one write to its FIFO). The collector (snapshot,
// S3, health report) is imported at the first flush: after the first invocation's handler, never
// during init.

/** Set by awslambda.streamifyResponse; kept on the wrapper so the runtime streams it the same way. */
export const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
export const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const WRAPPED = Symbol.for('lambda-coverage.wrapped');
const COLLECTOR = Symbol.for('lambda-coverage.collector');

/** Time kept free before the function's deadline: an upload that would need it waits for the next flush. */
export const DEADLINE_MARGIN_MS = 500;
const SHUTDOWN_BUDGET_MS = 1_000;

export interface WithCoverageOptions {
  /** Overrides COVERAGE_ENABLED. */
  enabled?: boolean;
  /** Overrides COVERAGE_S3_BUCKET. */
  bucket?: string;
  /** Overrides COVERAGE_S3_PREFIX. @default "coverage/" */
  prefix?: string;
  /** Overrides COVERAGE_FLUSH. @default "inline" */
  flush?: FlushMode;
  /** Overrides COVERAGE_MANIFEST. */
  manifest?: string;
  /** Environment to read instead of process.env (tests, custom runtimes). */
  env?: Record<string, string | undefined>;
}

interface LambdaContextLike {
  awsRequestId?: string;
  getRemainingTimeInMillis?: () => number;
}

type AnyHandler = ((...args: any[]) => any) & { [k: symbol]: unknown };

interface RuntimeState {
  parsed: ConfigResult;
  log: CoverageLog;
  taskRoot: string;
  handlerDir: string;
  startedAt: number;
  invocations: number;
  collector: Collector | undefined;
  loading: Promise<Collector> | undefined;
  /** Deferred mode: the extension was told "ready" at cold start and now waits for a line per invocation. */
  link: ExtensionLink | undefined;
  linkChecked: boolean;
  /** The mode in effect and why it differs from COVERAGE_FLUSH (health shows both). */
  flushMode: FlushMode;
  flushModeNote: string | null;
  tmp: string;
}

function envFrom(options: WithCoverageOptions | undefined): Record<string, string | undefined> {
  const base = options?.env ?? process.env;
  // Only read: without overrides no copy (copying process.env reads every variable through the runtime).
  if (options === undefined || [options.enabled, options.bucket, options.prefix, options.flush, options.manifest].every((v) => v === undefined)) return base;
  const env: Record<string, string | undefined> = { ...base };
  if (options?.enabled !== undefined) env.COVERAGE_ENABLED = options.enabled ? '1' : '0';
  if (options?.bucket !== undefined) env.COVERAGE_S3_BUCKET = options.bucket;
  if (options?.prefix !== undefined) env.COVERAGE_S3_PREFIX = options.prefix;
  if (options?.flush !== undefined) env.COVERAGE_FLUSH = options.flush;
  if (options?.manifest !== undefined) env.COVERAGE_MANIFEST = options.manifest;
  return env;
}

/**
 * One collector per globalThis (per worker thread): a second copy of this module (layer + bundle)
 * shares it, so the same counters never go out under two container ids.
 */
function runtimeState(env: Record<string, string | undefined>): RuntimeState {
  const g = globalThis as { [COLLECTOR]?: RuntimeState };
  const existing = g[COLLECTOR];
  if (existing !== undefined) return existing;
  const parsed = parseConfig(env);
  const log = new CoverageLog(undefined, parsed.config.debug);
  // Validated once, at cold start: one line per problem, naming the variable.
  for (const p of parsed.problems) {
    log.problem(`config:${p.variable}`, `lambda-coverage configuration: ${p.message}${parsed.ok ? '' : '; coverage is off until this is fixed'}`, { variable: p.variable });
  }
  const taskRoot = env.LAMBDA_TASK_ROOT ?? process.cwd();
  const state: RuntimeState = {
    parsed, log, taskRoot, handlerDir: handlerDir(taskRoot, env.COVERAGE_ORIGINAL_HANDLER ?? env._HANDLER),
    startedAt: Date.now(), invocations: 0, collector: undefined, loading: undefined,
    link: undefined, linkChecked: false, flushMode: parsed.config.flush, flushModeNote: null,
    tmp: join(tmpdir(), 'lambda-coverage'),
  };
  g[COLLECTOR] = state;
  if (parsed.ok) installShutdownFlush(state);
  if (parsed.ok && parsed.config.flush === 'deferred') state.link = ExtensionLink.arm(state.tmp);
  return state;
}

function synced(s: RuntimeState, c: Collector): Collector {
  c.invocations = s.invocations;
  return c;
}

function getCollector(s: RuntimeState): Promise<Collector> {
  if (s.collector !== undefined) return Promise.resolve(synced(s, s.collector));
  s.loading ??= import('./collector.js').then(({ Collector }) => {
    s.collector = new Collector({
      config: s.parsed.config, active: s.parsed.ok, log: s.log, taskRoot: s.taskRoot, handlerDir: s.handlerDir, startedAt: s.startedAt,
    });
    return s.collector;
  });
  return s.loading.then((c) => synced(s, c));
}

/** Lambda sends SIGTERM to the runtime when an external extension (the layer's) is registered. */
function installShutdownFlush(s: RuntimeState): void {
  const onTerm = () => {
    const deadline = Date.now() + Math.min(SHUTDOWN_BUDGET_MS, s.parsed.config.uploadTimeoutMs);
    void getCollector(s).then((c) => c.flush(deadline, 'shutdown')).then((r) => {
      s.log.debug('shutdown flush', { outcome: r.outcome, key: r.key });
    }, () => undefined).finally(() => {
      // Someone else listens too: let them decide when to exit. Otherwise end as a process without a
      // handler would: by SIGTERM itself (process.exit can hang while the runtime client's native
      // long poll for the next invocation occupies a libuv thread).
      if (process.listenerCount('SIGTERM') === 0) process.kill(process.pid, 'SIGTERM');
    });
  };
  process.once('SIGTERM', onTerm);
}

function deadlineOf(s: RuntimeState, context: LambdaContextLike | undefined): number {
  const now = Date.now();
  let budget = s.parsed.config.uploadTimeoutMs;
  const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined;
  if (typeof remaining === 'number' && Number.isFinite(remaining)) budget = Math.min(budget, remaining - DEADLINE_MARGIN_MS);
  return now + budget;
}

/**
 * `note` is fixed wording (health shows it); `detail` (Lambda's answer to the extension, an fs error)
 * goes to the log line only, like every problem's own text.
 */
function inlineBecause(s: RuntimeState, note: string, detail?: string): void {
  s.flushMode = 'inline';
  s.flushModeNote = note;
  // A note, not a fault: coverage still reaches S3, only the response waits for it.
  s.log.line('WARN', detail === undefined ? note : `${note}: ${detail}`, { kind: 'flush-mode' });
}

/**
 * The link to hold the invoke phase with while deferred mode can be kept; undefined means flush
 * inline: the extension is not there, Lambda refused it INVOKE events (Managed Instances), or it is
 * gone. Decided at the first invocation, when the extension has written extension.json.
 */
function deferredLink(s: RuntimeState): ExtensionLink | undefined {
  if (!s.linkChecked) {
    s.linkChecked = true;
    const info = s.link === undefined ? undefined : readExtensionInfo(s.tmp);
    if (info === undefined) {
      inlineBecause(s, 'COVERAGE_FLUSH=deferred needs the layer\'s extension (/opt/extensions/lambda-coverage), which is not running: flushing inline');
    } else if (!info.invoke) {
      inlineBecause(s, 'the extension could not make its FIFO or subscribe to INVOKE events (Lambda Managed Instances do not offer them; the log line of kind flush-mode has the reason): flushing inline', info.note ?? undefined);
      // It holds no invoke phase, so it reads no lines either.
      s.link = undefined;
    }
  }
  if (s.link?.broken) {
    inlineBecause(s, 'lost the extension (its FIFO cannot be written; the log line of kind flush-mode says why): flushing inline', s.link.broken);
    s.link = undefined;
  }
  return s.flushMode === 'deferred' ? s.link : undefined;
}

function flushNow(s: RuntimeState, deadline: number): Promise<unknown> {
  return getCollector(s).then((c) => c.flush(deadline)).catch(() => undefined);
}

/**
 * Resolves when the response may go out: after the upload (inline) or at once (deferred, where the
 * collector, the SDK and the upload all come after the response). Once the extension was told
 * "ready", every invocation ends with a `done` line, whichever way it was flushed.
 */
function afterInvocation(s: RuntimeState, context: LambdaContextLike | undefined): Promise<unknown> {
  if (!s.parsed.ok) return Promise.resolve();
  const deadline = deadlineOf(s, context);
  if (s.parsed.config.flush !== 'deferred') return flushNow(s, deadline);
  const id = context?.awsRequestId ?? '';
  const link = deferredLink(s);
  if (link === undefined) return flushNow(s, deadline).finally(() => s.link?.done(id));
  // After the response: the runtime posts it synchronously before this callback runs.
  setImmediate(() => { void flushNow(s, deadline).finally(() => link.done(id)); });
  return Promise.resolve();
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
    || typeof v === 'function' && typeof (v as { then?: unknown }).then === 'function';
}

function isStreaming(fn: AnyHandler): boolean {
  return fn[HANDLER_STREAMING] === 'response';
}

/** `http`: asked through API Gateway / a function URL (the deep probe then also needs COVERAGE_HEALTH_HTTP_DEEP). */
async function answerHealth(s: RuntimeState, deep: boolean, http: boolean, context: LambdaContextLike | undefined): Promise<unknown> {
  const deadline = deadlineOf(s, context);
  try {
    // The mode in effect, even when health is the container's first invocation.
    if (s.parsed.ok && s.parsed.config.flush === 'deferred') deferredLink(s);
    const [c, { healthReport, httpHealthResponse }] = await Promise.all([getCollector(s), import('./health.js')]);
    const report = await healthReport(c, { mode: s.flushMode, note: s.flushModeNote }, { deep, http }, deadline);
    return http ? httpHealthResponse(report) : report;
  } finally {
    // A health check uploads nothing: the extension may end the invoke phase.
    if (context?.awsRequestId !== undefined) s.link?.done(context.awsRequestId);
  }
}

/**
 * Wraps a Lambda handler (async, callback or response-streaming). With COVERAGE_ENABLED not 1 it
 * returns the handler itself.
 */
export function withCoverage<H extends (...args: any[]) => any>(handler: H, options?: WithCoverageOptions): H {
  if (typeof handler !== 'function') {
    throw new TypeError(`withCoverage(handler): handler must be a function, got ${handler === null ? 'null' : typeof handler}`);
  }
  const env = envFrom(options);
  if (!isCoverageEnabled(env)) return handler;
  const inner = handler as unknown as AnyHandler;
  if (inner[WRAPPED] === true) return handler;
  const s = runtimeState(env);

  const wrapper = function (this: unknown, event: unknown, second: unknown, third: unknown): unknown {
    const streaming = isStreaming(wrapper as unknown as AnyHandler) || isStreaming(inner);
    const context = (streaming ? third : second) as LambdaContextLike | undefined;
    const health = parseHealthRequest(event, s.parsed.config.healthHttp);
    if (health !== undefined) {
      const answer = answerHealth(s, health.deep, health.http, context);
      if (!streaming) return answer;
      const stream = second as { write(b: string): unknown; end(): unknown };
      return answer.then((r) => { stream.write(JSON.stringify(r)); stream.end(); });
    }
    s.invocations++;
    if (streaming) return passThrough(inner.call(this, event, second, third), s, context);

    const callback = third;
    if (typeof callback !== 'function') {
      let r: unknown;
      try {
        r = inner.call(this, event, second, callback);
      } catch (err) {
        return afterInvocation(s, context).then(() => { throw err; });
      }
      return passThrough(r, s, context);
    }
    // Callback handlers: flush, then hand the same arguments to the runtime's callback, which keeps
    // its own callbackWaitsForEmptyEventLoop behaviour. Never promisified.
    let called = false;
    const onEmptyLoop = () => {
      // A handler that returned without a promise and never called back: the runtime answers null
      // when the event loop empties (its listener runs first); the flush follows.
      if (!called) { called = true; void afterInvocation(s, context); }
    };
    const wrappedCallback = (...args: unknown[]) => {
      called = true;
      process.removeListener('beforeExit', onEmptyLoop);
      void afterInvocation(s, context).then(() => (callback as (...a: unknown[]) => void)(...args));
    };
    let result: unknown;
    try {
      result = inner.call(this, event, second, wrappedCallback);
    } catch (err) {
      // The Node runtime turns a synchronous throw into callback(err): the same, after the flush.
      wrappedCallback(err);
      return undefined;
    }
    if (isPromiseLike(result)) return passThrough(result, s, context);
    if (!called) process.once('beforeExit', onEmptyLoop);
    return result;
  };
  Object.defineProperty(wrapper, 'length', { value: handler.length });
  Object.defineProperty(wrapper, 'name', { value: handler.name || 'handler' });
  const w = wrapper as unknown as AnyHandler;
  for (const sym of [HANDLER_STREAMING, HANDLER_HIGHWATERMARK]) if (sym in inner) w[sym] = inner[sym];
  w[WRAPPED] = true;
  return wrapper as unknown as H;
}

/** Same value, same error object; a non-promise result goes back as it is (flush in the background). */
function passThrough(result: unknown, s: RuntimeState, context: LambdaContextLike | undefined): unknown {
  if (!isPromiseLike(result)) {
    void afterInvocation(s, context);
    return result;
  }
  return Promise.resolve(result).then(
    (value) => afterInvocation(s, context).then(() => value),
    (error: unknown) => afterInvocation(s, context).then(() => { throw error; }),
  );
}

/** For custom runtimes and tests: upload now (bounded by `timeoutMs`, default COVERAGE_UPLOAD_TIMEOUT). */
export async function flushCoverage(options?: { timeoutMs?: number; env?: Record<string, string | undefined> }): Promise<FlushResult> {
  const env = options?.env ?? process.env;
  const existing = (globalThis as { [COLLECTOR]?: RuntimeState })[COLLECTOR];
  if (existing === undefined && !isCoverageEnabled(env)) return { outcome: 'disabled' };
  const s = existing ?? runtimeState(env);
  const c = await getCollector(s);
  return c.flush(Date.now() + (options?.timeoutMs ?? s.parsed.config.uploadTimeoutMs), 'explicit');
}

/** The health report, for custom runtimes that route their own events. */
export async function coverageHealth(options?: { deep?: boolean }): Promise<unknown> {
  const existing = (globalThis as { [COLLECTOR]?: RuntimeState })[COLLECTOR];
  const s = existing ?? runtimeState(process.env);
  return answerHealth(s, options?.deep === true, false, undefined);
}
