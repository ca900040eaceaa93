/**
 * The coverage lifecycle of a container, apart from the shape of any handler: configuration read
 * once, the collector loaded at the first flush (inline mode: as the first invocation starts), the
 * flush after each invocation (inline, or deferred behind the extension link), the health answer, and
 * the last flush at SIGTERM. The handler shapes (shapes/) only decide when an invocation has ended;
 * they reach all of this through `hooks()`.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Collector, FlushResult } from './collector.js';
import { isCoverageEnabled, parseConfig, type ConfigResult, type FlushMode } from './config.js';
import { ExtensionLink, readExtensionInfo } from './extension-link.js';
import { parseHealthRequest } from './health-request.js';
import { CoverageLog } from './log.js';
import { handlerDir } from './manifest.js';
import { copyCounters, readLiveCoverage } from './counters.js';
import type { Snapshot } from './snapshot.js';
import { testIdentity } from './test-identity.js';

// Cold start loads only this module, config, log, the health-request matcher and the extension link
// (deferred mode tells the extension "ready" then: one write to its FIFO). The collector (snapshot,
// S3, health report) is imported at the first flush, or in inline mode just after the first
// invocation's handler has started (prepareFirstFlush); during init only where Lambda initializes
// environments ahead of requests (prepareAtInit). The build (scripts/build.mjs) bundles every dynamic
// import below as its own lazy file.

const COLLECTOR = Symbol.for('lambda-coverage.collector');

/** Time kept free before the function's deadline: an upload that would need it waits for the next flush. */
export const DEADLINE_MARGIN_MS = 500;
const SHUTDOWN_BUDGET_MS = 1_000;

export interface LambdaContextLike {
  awsRequestId?: string;
  getRemainingTimeInMillis?: () => number;
}

/**
 * Lives on globalThis under a Symbol.for key, so another copy of this module (the layer's beside one
 * bundled into the function, possibly of another version) finds it: keep its fields as they are.
 */
export interface RuntimeState {
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
  /** Per-test coverage: the counters when the first invocation started (taken once), see takeInit. */
  init?: Snapshot;
  initTaken?: boolean;
  /** The tests the running invocation named. */
  tests?: readonly string[];
  /** Invocations running now, and whether two overlapped since it was last 0 (then none is attributed). */
  inFlight?: number;
  overlapped?: boolean;
  /** Whether a test name was refused yet (warned about once per container). */
  testNameWarned?: boolean;
}

/**
 * What a handler shape calls around the user's handler, Powertools-middleware style: `health` first
 * (an answer means the handler is not run), then `before`, then `after` or `onError` once the
 * response is known. `after` and `onError` never fail because of coverage.
 */
export interface InvocationHooks {
  /** The answer to a health request, or undefined for an event meant for the handler. */
  health(event: unknown, context: LambdaContextLike | undefined): Promise<unknown> | undefined;
  /** An invocation of the user's handler starts (its event and context say which test it belongs to). */
  before(event: unknown, context: LambdaContextLike | undefined): void;
  /** Resolves when the response may go out: after the upload (inline) or at once (deferred). */
  after(context: LambdaContextLike | undefined): Promise<unknown>;
  /** As `after`, then rejects with the very same error. */
  onError(context: LambdaContextLike | undefined, error: unknown): Promise<never>;
}

function existingState(): RuntimeState | undefined {
  return (globalThis as { [COLLECTOR]?: RuntimeState })[COLLECTOR];
}

/**
 * One collector per globalThis (per worker thread): a second copy of this module (layer + bundle)
 * shares it, so the same counters never go out under two container ids.
 */
export function runtimeState(env: Record<string, string | undefined>): RuntimeState {
  const existing = existingState();
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
  (globalThis as { [COLLECTOR]?: RuntimeState })[COLLECTOR] = state;
  if (parsed.ok) installShutdownFlush(state);
  if (parsed.ok && parsed.config.flush === 'deferred') state.link = ExtensionLink.arm(state.tmp);
  return state;
}

/** The hooks of one container's state; cheap (closures only), made once per wrapped handler. */
export function hooks(s: RuntimeState): InvocationHooks {
  return {
    health(event, context) {
      const health = parseHealthRequest(event, s.parsed.config.healthHttp);
      return health === undefined ? undefined : answerHealth(s, health.deep, health.http, context);
    },
    before(event, context) {
      s.invocations++;
      if (s.parsed.ok && s.parsed.config.maxTests > 0) beforeAttributed(s, event, context);
      if (s.invocations === 1 && s.parsed.ok && s.parsed.config.flush === 'inline') prepareFirstFlush(s, context);
    },
    after: (context) => afterInvocation(s, context),
    onError: (context, error) => afterInvocation(s, context).then(() => { throw error; }),
  };
}

/**
 * Per-test coverage: what the invocation that starts now names, and the counters as they are when the
 * first one starts (what moved before is the init phase). Lambda runs one invocation at a time per
 * execution environment; where two overlap (Managed Instances with concurrency), what moved cannot be
 * told apart, so neither is attributed to a test (their counters stay in the totals, as untagged).
 */
function beforeAttributed(s: RuntimeState, event: unknown, context: LambdaContextLike | undefined): void {
  takeInit(s);
  s.inFlight = (s.inFlight ?? 0) + 1;
  if (s.inFlight > 1) s.overlapped = true;
  const id = testIdentity(event, context);
  s.tests = id.names;
  if (id.problem !== undefined && s.testNameWarned !== true) {
    s.testNameWarned = true;
    s.log.line('WARN', `lambda-coverage per-test coverage: ${id.problem} (said once per container)`, { kind: 'test-name' });
  }
}

/** The tests the invocation that just ended is attributed to (none when invocations overlapped). */
function endAttributed(s: RuntimeState): readonly string[] {
  if (s.inFlight === undefined) return [];
  const tests = s.overlapped === true ? [] : (s.tests ?? []);
  s.inFlight = Math.max(0, s.inFlight - 1);
  if (s.inFlight === 0) s.overlapped = false;
  s.tests = [];
  return tests;
}

/** Once, before the collector exists or the first invocation runs: the init phase's counters. */
function takeInit(s: RuntimeState): void {
  if (s.initTaken === true) return;
  s.initTaken = true;
  if (!s.parsed.ok || s.parsed.config.maxTests === 0) return;
  const cov = readLiveCoverage();
  if (cov !== undefined) s.init = copyCounters(cov);
}

function synced(s: RuntimeState, c: Collector): Collector {
  c.invocations = s.invocations;
  return c;
}

function getCollector(s: RuntimeState): Promise<Collector> {
  if (s.collector !== undefined) return Promise.resolve(synced(s, s.collector));
  takeInit(s);
  s.loading ??= import('./collector.js').then(({ Collector }) => {
    s.collector = new Collector({
      config: s.parsed.config, active: s.parsed.ok, log: s.log, taskRoot: s.taskRoot, handlerDir: s.handlerDir, startedAt: s.startedAt,
      init: s.init,
    });
    s.init = undefined;
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

/**
 * Inline mode, the container's first invocation: the first flush's fixed work (the collector chunk,
 * the maps HEAD, which also opens the kept-alive connection and runs the first signature and HTTP
 * request) starts once the handler has started (setImmediate: after its synchronous part), so that
 * it overlaps the handler's own waiting rather than following its return. A handler that never waits
 * has returned by then: its flush has begun and prepare() does nothing. Deferred mode keeps all of it
 * after the response. The per-test init copy was taken in before(), ahead of this.
 */
function prepareFirstFlush(s: RuntimeState, context: LambdaContextLike | undefined): void {
  setImmediate(() => {
    try {
      const deadline = deadlineOf(s, context);
      getCollector(s).then((c) => c.prepare(deadline)).catch(() => undefined);
    } catch { /* the flush does it all, as without this */ }
  });
}

/** How long init may wait for the prepared maps HEAD (prepareAtInit): S3 answers in tens of ms. */
export const INIT_PREPARE_MS = 1_000;

/**
 * For the layer's shim, at the end of init (the user's module is loaded, `__coverage__` is set): where
 * Lambda initializes environments ahead of requests (CoverageConfig.initializedAhead: provisioned
 * concurrency, Managed Instances), the first flush's fixed work is done here, off every request's
 * path: the collector chunk, the per-test init copy, the maps HEAD with its signature and kept-alive
 * connection. The first invocation's flush is then as a warm one. Bounded by INIT_PREPARE_MS (and
 * COVERAGE_UPLOAD_TIMEOUT); never throws. Elsewhere (on-demand init is on a request's path) nothing.
 */
export async function prepareAtInit(): Promise<void> {
  const s = existingState();
  if (s === undefined || !s.parsed.ok || !s.parsed.config.initializedAhead || s.invocations > 0) return;
  try {
    const c = await getCollector(s);
    await c.prepare(Date.now() + Math.min(INIT_PREPARE_MS, s.parsed.config.uploadTimeoutMs));
  } catch {
    // The first flush does it all, as without this.
  }
}

function flushNow(s: RuntimeState, deadline: number, tests: readonly string[]): Promise<unknown> {
  return getCollector(s).then((c) => c.flush(deadline, 'invocation', tests)).catch(() => undefined);
}

/**
 * Resolves when the response may go out: after the upload (inline) or at once (deferred, where the
 * collector, the SDK and the upload all come after the response). Once the extension was told
 * "ready", every invocation ends with a `done` line, whichever way it was flushed.
 */
function afterInvocation(s: RuntimeState, context: LambdaContextLike | undefined): Promise<unknown> {
  if (!s.parsed.ok) return Promise.resolve();
  const deadline = deadlineOf(s, context);
  const tests = endAttributed(s);
  if (s.parsed.config.flush !== 'deferred') return flushNow(s, deadline, tests);
  const id = context?.awsRequestId ?? '';
  const link = deferredLink(s);
  if (link === undefined) return flushNow(s, deadline, tests).finally(() => s.link?.done(id));
  // After the response: the runtime posts it synchronously before this callback runs.
  setImmediate(() => { void flushNow(s, deadline, tests).finally(() => link.done(id)); });
  return Promise.resolve();
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
 * For custom runtimes and tests: upload now (bounded by `timeoutMs`, default COVERAGE_UPLOAD_TIMEOUT).
 *
 * @example
 * import { flushCoverage } from 'lambda-coverage/runtime';
 *
 * const r = await flushCoverage({ timeoutMs: 2000 });
 * if (r.outcome === 'failed') console.warn(`coverage upload failed: ${r.error}`);
 */
export async function flushCoverage(options?: { timeoutMs?: number; env?: Record<string, string | undefined> }): Promise<FlushResult> {
  const env = options?.env ?? process.env;
  const existing = existingState();
  if (existing === undefined && !isCoverageEnabled(env)) return { outcome: 'disabled' };
  const s = existing ?? runtimeState(env);
  const c = await getCollector(s);
  return c.flush(Date.now() + (options?.timeoutMs ?? s.parsed.config.uploadTimeoutMs), 'explicit');
}

/**
 * The health report, for custom runtimes that route their own events.
 *
 * @example
 * import { coverageHealth } from 'lambda-coverage/runtime';
 *
 * if (event.path === '/internal/coverage') return { statusCode: 200, body: JSON.stringify(await coverageHealth()) };
 */
export async function coverageHealth(options?: { deep?: boolean }): Promise<unknown> {
  const s = existingState() ?? runtimeState(process.env);
  return answerHealth(s, options?.deep === true, false, undefined);
}
