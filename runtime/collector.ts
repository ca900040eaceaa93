/**
 * One per thread (Managed Instances run several worker threads per sandbox, each with its own
 * globalThis and so its own shard). Takes the cumulative counters, writes this container's shard
 * (overwritten each time) and the build's maps (once), within a time budget, and remembers what
 * happened for the health check. Never throws into the function.
 */
import { join } from 'node:path';
import type { CoverageConfig, ConfigProblem } from './config.js';
import { CoverageLog } from './log.js';
import { fs } from './fs.js';
import { findManifest, readManifestEntries, readMapsBeside, readSourcesBeside, type ManifestEntry } from './manifest.js';
import { chooseUploadPath, classifyError, createS3Store, UploadError, type ObjectStore, type UploadPath } from './s3.js';
import { mapsKey, probeKey, shardKey, sourcesKey } from '../contract/format.js';
import {
  mapIdOf, mapsDocumentBytes, readLiveCoverage, selectMapsBytes, takeSnapshot,
  type LiveCoverage, type MovedCounters, type Snapshot,
} from './snapshot.js';
import { PerTestRecorder, type PerTestStatus } from './per-test.js';
import { ShardWriter } from './shard-bytes.js';

const { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } = fs;
// Builtins are taken from the process, not imported: an ES import of a builtin builds its whole
// namespace, running every lazy getter (fs.ts says the same of node:fs), and this module is what a
// container's first flush loads.
const { randomBytes } = process.getBuiltinModule('node:crypto');
const { tmpdir } = process.getBuiltinModule('node:os');
const { gzipSync } = process.getBuiltinModule('node:zlib');

/**
 * Node replaces process.chdir in worker threads (Managed Instances run several per sandbox) with a
 * function marked `disabled`: telling them apart this way spares the main thread loading
 * node:worker_threads (~230 KB of heap and 1.5-5 ms of the first flush, measured). Were the mark gone,
 * only the `-t<threadId>` suffix would be: the random part keeps every container id unique.
 */
function workerThreadId(): number | undefined {
  if ((process.chdir as { disabled?: boolean }).disabled !== true) return undefined;
  const { isMainThread, threadId } = process.getBuiltinModule('node:worker_threads');
  return isMainThread ? undefined : threadId;
}

export { LAYER_VERSION } from './version.js';
/** Below this many ms left, an upload is not attempted: the state waits for the next flush. */
export const MIN_UPLOAD_MS = 150;
const ATTEMPTS = 3;
const BACKOFF_MS = 100;

export interface LastUpload {
  ok: boolean;
  key: string | null;
  bytes: number | null;
  ms: number | null;
  error: string | null;
  at: string;
}

/** One real probe write per container per this many ms (the deep health check's rate limit). */
export const PROBE_WINDOW_MS = 60_000;

/** A deep health check's outcome; `kind` names the failure (as in the log), never S3's own text. */
export interface ProbeResult {
  ok: boolean;
  key: string;
  ms: number;
  /** null when ok; `disabled` when coverage is off; else an error kind such as `upload:AccessDenied`. */
  kind: string | null;
  /** When the probe that produced this result was started. */
  at: string;
  /** True when no write happened for this request: the result is the window's earlier probe. */
  reused: boolean;
}

export type FlushOutcome = 'uploaded' | 'unchanged' | 'no-coverage' | 'disabled' | 'deferred' | 'failed';

export interface FlushResult {
  outcome: FlushOutcome;
  key?: string;
  bytes?: number;
  ms?: number;
  error?: string;
}

export interface CollectorOptions {
  config: CoverageConfig;
  /** False when the configuration was rejected: health answers, nothing is uploaded. */
  active: boolean;
  /** Logged here when no `log` is given (the wrapper logs them itself at cold start). */
  problems?: ConfigProblem[];
  /** When this process started counting (ms since epoch). @default now */
  startedAt?: number;
  taskRoot: string;
  /** Directory of the loaded handler file (manifest search starts here). */
  handlerDir: string;
  scope?: object;
  store?: ObjectStore;
  log?: CoverageLog;
  tmpDir?: string;
  now?: () => number;
  /**
   * The counters when the first invocation started (lifecycle.ts takes it): what moved before is the
   * init phase of per-test coverage. Without it (or with COVERAGE_MAX_TESTS=0) there is no init phase.
   */
  init?: Snapshot;
}

interface MapsState {
  /** Number of files the decision was made for (files only get added to __coverage__). */
  fileCount: number;
  mapId: string | null;
  /** Files the shard may carry (null: all that have a hash). */
  keys: Set<string> | null;
  uploaded: boolean;
  missing: string[];
  /**
   * The gzip'd maps document when it must be written, dropped once it is. Made at once from the
   * manifest's bytes, so that no megabyte of them is kept across the upload's await.
   */
  body: Buffer | undefined;
}

/**
 * A shard's JSON (ShardWriter) gzip'd: the bytes format of encodeJsonGz. Level 3 is half the CPU of
 * level 6 for ~6% more bytes on counters, and this runs after every invocation. `perTest`: gzip
 * members of the shard's `tests`/`init` fields that close its JSON (per-test.ts keeps them between
 * flushes); the JSON is then written open (version 3, its last `}` left to them).
 */
export function encodeShard(json: Uint8Array, perTest: readonly Buffer[] = []): Buffer {
  const body = gzipSync(json, { level: 3 });
  return perTest.length === 0 ? body : Buffer.concat([body, ...perTest]);
}

export function newContainerId(now: number): string {
  const t = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const thread = workerThreadId();
  return `${t}-${randomBytes(6).toString('hex')}${thread === undefined ? '' : `-t${thread}`}`;
}

export class Collector {
  readonly config: CoverageConfig;
  readonly active: boolean;
  readonly log: CoverageLog;
  readonly containerId: string;
  readonly startedAt: string;
  invocations = 0;
  lastUpload: LastUpload | null = null;
  /** Counters not yet in S3 (a failed or skipped upload); healed by the next successful flush. */
  pending = false;
  instrumentedFiles = 0;
  manifestPath: string | null = null;
  /** Decided here, before any upload, so that a health check as the first invocation says it too. */
  readonly uploadPath: UploadPath;
  private readonly uploadPathWhy: string | null;

  private readonly scope: object;
  private readonly taskRoot: string;
  private readonly handlerDir: string;
  private readonly tmp: string;
  private readonly now: () => number;
  private store: ObjectStore | undefined;
  private lastFingerprint: string | null = null;
  /** Its arrays are refilled by the next snapshot (takeSnapshot says why); never read across an await. */
  private lastSnapshot: Snapshot | undefined;
  /** The shard's JSON is written here at every flush (kept: about the size of one shard's JSON). */
  private readonly writer = new ShardWriter();
  private maps: MapsState | null = null;
  /** The maps HEAD that prepare() sent; taken by the first flush. */
  private preparedHead: Promise<boolean | undefined> | undefined;
  private flushStarted = false;
  private queue: Promise<unknown> = Promise.resolve();
  private orphansChecked = false;
  /** The latest deep health probe (its start on `now`'s clock) for the rate limit; one entry only. */
  private probe: { startedAt: number; result: Promise<ProbeResult> } | null = null;
  /** Per-test coverage (COVERAGE_MAX_TESTS > 0). */
  private readonly perTest: PerTestRecorder | undefined;
  /** The maps state and file count the per-test records were last written for (their files follow it). */
  private carriedFor: { maps: MapsState | null; files: number } = { maps: null, files: -1 };

  constructor(o: CollectorOptions) {
    this.config = o.config;
    this.active = o.active;
    this.log = o.log ?? new CoverageLog(undefined, o.config.debug);
    this.scope = o.scope ?? globalThis;
    this.taskRoot = o.taskRoot;
    this.handlerDir = o.handlerDir;
    this.tmp = o.tmpDir ?? join(tmpdir(), 'lambda-coverage');
    this.now = o.now ?? Date.now;
    this.store = o.store;
    ({ path: this.uploadPath, why: this.uploadPathWhy } = chooseUploadPath(o.config, process.env));
    if (o.config.maxTests > 0) {
      this.perTest = new PerTestRecorder(o.config.maxTests, o.init?.files);
      // The first snapshot refills the init copy: what it finds moved is the first invocation's.
      this.lastSnapshot = o.init;
    }
    this.containerId = newContainerId(o.startedAt ?? this.now());
    this.startedAt = new Date(o.startedAt ?? this.now()).toISOString();
    for (const p of o.problems ?? []) {
      this.log.problem(`config:${p.variable}`, `lambda-coverage configuration: ${p.message}${o.active ? '' : '; coverage is off until this is fixed'}`, { variable: p.variable });
    }
  }

  get shardKey(): string {
    return shardKey(this.config.prefix, this.config.functionName, this.containerId);
  }

  private getStore(): ObjectStore {
    if (this.store === undefined) {
      this.store = createS3Store(this.config, this.taskRoot, this.uploadPath);
      this.log.debug('upload path', { upload_path: this.uploadPath, ...(this.uploadPathWhy !== null ? { sdk_because: this.uploadPathWhy } : {}) });
    }
    return this.store;
  }

  coverage(): LiveCoverage | undefined {
    return readLiveCoverage(this.scope);
  }

  /**
   * Serialized: a flush requested while one runs waits for it and then runs on the newer counters.
   * `tests`: the tests the invocation that just ended named (per-test coverage): what moved since the
   * last snapshot is theirs.
   */
  flush(deadline: number, reason = 'invocation', tests: readonly string[] = []): Promise<FlushResult> {
    this.flushStarted = true;
    const run = this.queue.then(() => this.flushNow(deadline, reason, tests));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Inline mode, while the container's first invocation runs (lifecycle.ts calls it once): decides the
   * maps as the first flush would (their id, and the HEAD asking S3 whether it has them) so that the
   * HEAD's round trip, the first signature, opening the kept-alive connection and node:http's first
   * request overlap the handler's own waiting instead of following its return. The first flush then
   * uses this HEAD; if files were added to __coverage__ since, it decides again. Nothing once a flush
   * has been asked for, or when the maps are decided. Never throws; the promise (the HEAD's answer,
   * never rejected) is for init (prepareAtInit), which waits for it.
   */
  prepare(deadline: number): Promise<unknown> | undefined {
    if (!this.active || this.flushStarted || this.maps !== null) return undefined;
    try {
      const cov = this.coverage();
      if (cov === undefined) return undefined;
      const head = this.decideMaps(cov, Object.keys(cov).length, deadline);
      this.preparedHead = head;
      return head;
    } catch {
      // Left to the flush, which decides again and reports what is wrong.
      this.maps = null;
      this.preparedHead = undefined;
      return undefined;
    }
  }

  perTestStatus(): PerTestStatus | null {
    return this.perTest?.status() ?? null;
  }

  private async flushNow(deadline: number, reason: string, tests: readonly string[]): Promise<FlushResult> {
    try {
      return await this.flushAttributed(deadline, reason, tests);
    } finally {
      this.perTest?.end();
    }
  }

  private async flushAttributed(deadline: number, reason: string, tests: readonly string[]): Promise<FlushResult> {
    if (!this.active) return { outcome: 'disabled' };
    /** True while the maps are taken as in S3 before the HEAD has said so. */
    let unconfirmed = false;
    try {
      const cov = this.coverage();
      if (cov === undefined) {
        this.instrumentedFiles = 0;
        this.log.problem('not-instrumented', 'globalThis.__coverage__ is not set: this bundle was not built with coverageInstrument() and COVERAGE_ENABLED=1 at build time, so there is nothing to upload');
        return { outcome: 'no-coverage' };
      }
      this.log.resolve('not-instrumented');
      const fileCount = Object.keys(cov).length;
      this.instrumentedFiles = fileCount;
      if (!this.orphansChecked) await this.sendOrphans(deadline);
      const t0 = this.now();
      // The maps decided (by prepare() or an earlier flush) for these files: prepare()'s HEAD, if any, answers for them.
      const prepared = this.preparedHead;
      this.preparedHead = undefined;
      const head = this.maps !== null && this.maps.fileCount === fileCount ? prepared : this.decideMaps(cov, fileCount, deadline);
      unconfirmed = head !== undefined;
      const sent = this.maps!;
      const moved = tests.length > 0 ? this.perTest?.begin(tests) : undefined;
      let encoded = this.encode(cov, sent, false, moved);
      if (encoded === null) {
        if (head !== undefined && (await head) !== true) this.mapsFromManifest(cov, fileCount, sent.mapId);
        unconfirmed = false;
        this.log.debug('coverage unchanged: shard not re-sent', { reason, key: this.shardKey });
        return { outcome: 'unchanged' };
      }
      const key = this.shardKey;
      const first = this.putWithRetry(key, encoded.body, deadline);
      let tasks: Promise<void>[] = [first];
      if (head !== undefined) {
        first.catch(() => undefined);
        if ((await head) !== true) {
          const maps = this.mapsFromManifest(cov, fileCount, sent.mapId);
          if (maps.mapId !== sent.mapId) {
            // Some files have no maps: the shard that went out names maps that will not exist. It is
            // sent again for the maps the manifest gives, after the first PUT, so that it is the last write.
            encoded = this.encode(cov, maps, true, moved)!;
            const body = encoded.body;
            tasks = [first.catch(() => undefined).then(() => this.putWithRetry(key, body, deadline))];
          }
        }
        unconfirmed = false;
      }
      const { fp, body, files } = encoded;
      if (!this.maps!.uploaded) tasks.push(this.uploadMaps(deadline));
      const settled = await Promise.allSettled(tasks);
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      const ms = this.now() - t0;
      if (failed !== undefined) {
        const err = classifyError(failed.reason, false);
        this.pending = true;
        this.savePending(body);
        this.lastUpload = { ok: false, key, bytes: body.length, ms, error: err.message, at: new Date(this.now()).toISOString() };
        this.log.problem(err.kind, `coverage upload failed: ${err.message}; the counters are kept and sent with the next flush`, { key });
        this.metrics(ms, 0, 1);
        return { outcome: err.kind === 'upload:deferred' ? 'deferred' : 'failed', key, error: err.message };
      }
      this.lastFingerprint = fp;
      this.pending = false;
      this.dropPending();
      this.log.resolvePrefix('upload:');
      this.lastUpload = { ok: true, key, bytes: body.length, ms, error: null, at: new Date(this.now()).toISOString() };
      this.log.debug('coverage shard uploaded', { reason, key, bytes: body.length, ms, files, invocations: this.invocations });
      this.metrics(ms, body.length, 0);
      return { outcome: 'uploaded', key, bytes: body.length, ms };
    } catch (err) {
      // A bug or an unexpected shape must never reach the function.
      this.pending = true;
      // Decided again next time rather than left taken as in S3 on an answer never read.
      if (unconfirmed) this.maps = null;
      this.log.problem('internal', `lambda-coverage could not take a snapshot: ${(err as Error)?.message ?? String(err)}`);
      return { outcome: 'failed', error: String((err as Error)?.message ?? err) };
    }
  }

  /**
   * Snapshot and encode in one synchronous step, so that no copy of the counters is held across the
   * upload's await: objects alive at a scavenge make V8 grow the function's young generation, which
   * stays grown (measured: the copies kept across the PUT added ~16 MB of RSS over 150 invocations).
   * One pass copies the counters and sums them: counters only grow, so an equal (files, sum) means
   * nothing ran since the last upload. Returns null then.
   */
  private encode(cov: LiveCoverage, maps: MapsState, force = false, moved?: MovedCounters): { fp: string; body: Buffer; files: number } | null {
    const snap = takeSnapshot(cov, maps.keys ?? undefined, this.lastSnapshot, moved);
    this.lastSnapshot = snap;
    const fp = `${snap.fileCount}:${snap.total}`;
    if (!force && fp === this.lastFingerprint && !this.pending) return null;
    let perTest: Buffer[] = [];
    if (this.perTest !== undefined) {
      const changed = this.carriedFor.maps !== maps || this.carriedFor.files !== snap.fileCount;
      this.carriedFor = { maps, files: snap.fileCount };
      perTest = this.perTest.shardMembers(snap.files, changed);
    }
    const json = this.writer.write({
      functionName: this.config.functionName, functionVersion: this.config.functionVersion,
      containerId: this.containerId, startedAt: this.startedAt, invocations: this.invocations,
    }, snap, maps.mapId, new Date(this.now()), perTest.length > 0);
    return { fp, body: encodeShard(json, perTest), files: snap.fileCount };
  }

  /**
   * The maps' id from the keys and hashes alone, and whether S3 has them (the promise: true when it
   * does). Usually another container of this build wrote them already, so the maps are taken as in
   * S3 at once: the shard is encoded for that answer and its PUT goes beside the HEAD (one round trip
   * on a container's first flush, not two). Otherwise (no, cannot tell) the caller decides from the
   * manifest (mapsFromManifest); no manifest is read while the maps are in S3.
   */
  private decideMaps(cov: LiveCoverage, fileCount: number, deadline: number): Promise<boolean | undefined> | undefined {
    const candidate = mapIdOf(cov);
    if (candidate === null) {
      this.mapsFromManifest(cov, fileCount, null);
      return undefined;
    }
    this.maps = { fileCount, mapId: candidate, keys: null, uploaded: true, missing: [], body: undefined };
    // An error means we cannot tell: decide from the manifest, the PUT will report the real problem.
    return this.withBudget(deadline, (signal) => this.getStore().exists(mapsKey(this.config.prefix, this.config.functionName, candidate), signal))
      .catch(() => undefined);
  }

  /** `mapId`: the id the keys and hashes alone give (mapIdOf, already taken by decideMaps). */
  private mapsFromManifest(cov: LiveCoverage, fileCount: number, mapId: string | null): MapsState {
    const built = this.mapsBuiltByPlugin(cov, fileCount, mapId);
    if (built !== undefined) return built;
    const sel = selectMapsBytes(cov, this.loadManifest(cov));
    if (sel.missing.length > 0) {
      this.log.problem('maps-missing', `${sel.missing.length} instrumented file(s) have no maps (first: ${sel.missing[0]}): ship ${'lambda-coverage-manifest.json'} beside the bundle or set COVERAGE_MANIFEST; their counters are left out`, { files: sel.missing.slice(0, 20) });
    } else {
      this.log.resolve('maps-missing');
    }
    const doc = mapsDocumentBytes(sel);
    const body = doc === undefined ? undefined : gzipSync(doc, { level: 6 });
    this.maps = { fileCount, mapId: sel.mapId, keys: sel.keys, uploaded: body === undefined, missing: sel.missing, body };
    return this.maps;
  }

  /**
   * The maps document the plugin wrote beside the manifest for exactly the files of `__coverage__`
   * (the same map id: the same paths and hashes), sent as its bytes; undefined when there is none (a
   * manifest merged from several builds, a file not shipped, full Istanbul objects): decided from the
   * manifest then.
   */
  private mapsBuiltByPlugin(cov: LiveCoverage, fileCount: number, mapId: string | null): MapsState | undefined {
    if (mapId === null || !this.isLean(cov)) return undefined;
    const manifest = findManifest(this.config.manifest, this.taskRoot, this.handlerDir);
    let body: Buffer | undefined;
    try {
      body = manifest === undefined ? undefined : readMapsBeside(manifest, mapId);
    } catch {
      return undefined;
    }
    if (body === undefined || body.length < 2 || body[0] !== 0x1f || body[1] !== 0x8b) return undefined;
    this.manifestPath = manifest!;
    this.log.resolve('manifest');
    this.log.resolve('maps-missing');
    this.maps = { fileCount, mapId, keys: null, uploaded: false, missing: [], body };
    return this.maps;
  }

  private isLean(cov: LiveCoverage): boolean {
    return Object.values(cov).some((fc) => fc !== null && typeof fc === 'object' && fc.statementMap === undefined);
  }

  private loadManifest(cov: LiveCoverage): Map<string, ManifestEntry> | undefined {
    if (!this.isLean(cov)) return undefined;
    const path = findManifest(this.config.manifest, this.taskRoot, this.handlerDir);
    if (path === undefined) return undefined;
    try {
      const entries = readManifestEntries(path);
      this.manifestPath = path;
      this.log.resolve('manifest');
      return entries;
    } catch (err) {
      this.log.problem('manifest', `the build manifest ${path} cannot be read: ${(err as Error).message}`);
      return undefined;
    }
  }

  private async uploadMaps(deadline: number): Promise<void> {
    const maps = this.maps!;
    if (maps.body !== undefined) {
      await Promise.all([
        this.putWithRetry(mapsKey(this.config.prefix, this.config.functionName, maps.mapId!), maps.body, deadline),
        this.uploadSources(maps.mapId!, deadline),
      ]);
    }
    maps.uploaded = true;
    maps.body = undefined;
  }

  /**
   * The build's source texts (the plugin's `sources: true`), beside its maps and under the same id:
   * the document the plugin wrote next to the manifest, sent as its bytes. Nothing when there is none.
   */
  private async uploadSources(mapId: string, deadline: number): Promise<void> {
    const manifest = this.manifestPath ?? findManifest(this.config.manifest, this.taskRoot, this.handlerDir);
    if (manifest === undefined) return;
    let body: Buffer | undefined;
    try {
      body = readSourcesBeside(manifest);
    } catch (err) {
      this.log.problem('sources', `the sources document beside ${manifest} cannot be read: ${(err as Error).message}; the report will show no source for this build`);
      return;
    }
    if (body === undefined) return;
    if (body.length < 2 || body[0] !== 0x1f || body[1] !== 0x8b) {
      this.log.problem('sources', `the sources document beside ${manifest} is not gzip'd (the plugin writes it so); not uploaded`);
      return;
    }
    await this.putWithRetry(sourcesKey(this.config.prefix, this.config.functionName, mapId), body, deadline);
    this.log.debug('sources document uploaded', { mapId, bytes: body.length });
  }

  private async withBudget<T>(deadline: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const left = deadline - this.now();
    if (left < MIN_UPLOAD_MS) throw new UploadError(`only ${left} ms left before the function's deadline: upload deferred to the next flush`, 'upload:deferred', false);
    return fn(AbortSignal.timeout(left));
  }

  /** Exponential backoff, 3 attempts, never past the deadline; auth/bucket errors are not retried. */
  private async putWithRetry(key: string, body: Uint8Array, deadline: number): Promise<void> {
    let last: UploadError | undefined;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const left = deadline - this.now();
      if (left < MIN_UPLOAD_MS) {
        throw last ?? new UploadError(`only ${left} ms left before the function's deadline or COVERAGE_UPLOAD_TIMEOUT: upload deferred to the next flush`, 'upload:deferred', false);
      }
      const signal = AbortSignal.timeout(left);
      try {
        await this.getStore().put(key, body, { contentType: 'application/json', signal });
        return;
      } catch (err) {
        last = classifyError(err, signal.aborted);
        if (!last.retryable || attempt === ATTEMPTS) throw last;
        const wait = BACKOFF_MS * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
        if (this.now() + wait + MIN_UPLOAD_MS > deadline) throw last;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    throw last!;
  }

  private pendingFile(containerId = this.containerId): string {
    return join(this.tmp, 'pending', `${containerId}.json.gz`);
  }

  /** The latest state waits in /tmp while S3 is unreachable: if this process dies, the next one sends it. */
  private savePending(body: Uint8Array): void {
    try {
      mkdirSync(join(this.tmp, 'pending'), { recursive: true });
      const file = this.pendingFile();
      writeFileSync(`${file}.part`, body);
      renameSync(`${file}.part`, file);
    } catch (err) {
      this.log.problem('tmp', `cannot keep coverage in ${this.tmp}: ${(err as Error).message}`);
    }
  }

  private dropPending(): void {
    try { rmSync(this.pendingFile(), { force: true }); } catch { /* nothing to drop */ }
  }

  /** Shards left in /tmp by an earlier process of this sandbox (crash, timeout): sent under their own key. */
  private async sendOrphans(deadline: number): Promise<void> {
    this.orphansChecked = true;
    let names: string[];
    try { names = readdirSync(join(this.tmp, 'pending')); } catch { return; }
    for (const name of names) {
      if (!name.endsWith('.json.gz') || name === `${this.containerId}.json.gz`) continue;
      const id = name.slice(0, -'.json.gz'.length);
      try {
        const body = readFileSync(this.pendingFile(id));
        await this.putWithRetry(shardKey(this.config.prefix, this.config.functionName, id), body, deadline);
        rmSync(this.pendingFile(id), { force: true });
        this.log.debug('sent a shard left in /tmp by an earlier process', { containerId: id });
      } catch (err) {
        this.orphansChecked = false;
        this.log.problem('orphan', `a shard left in /tmp by an earlier process could not be sent yet: ${(err as Error).message}`);
      }
    }
  }

  /** CloudWatch Embedded Metric Format: turned into metrics by CloudWatch Logs, no API call. */
  private metrics(ms: number, bytes: number, failures: number): void {
    if (!this.config.metrics) return;
    this.log.line('INFO', 'lambda-coverage upload metrics', {
      _aws: {
        Timestamp: this.now(),
        CloudWatchMetrics: [{
          Namespace: 'LambdaCoverage', Dimensions: [['FunctionName']],
          Metrics: [{ Name: 'UploadMs', Unit: 'Milliseconds' }, { Name: 'UploadBytes', Unit: 'Bytes' }, { Name: 'UploadFailures', Unit: 'Count' }],
        }],
      },
      FunctionName: this.config.functionName, UploadMs: ms, UploadBytes: bytes, UploadFailures: failures,
    });
  }

  /**
   * The deep health check: proves a write with the same settings as the shards. At most one real probe
   * (with its retries) per PROBE_WINDOW_MS per container, whoever asks: a health request within the
   * window, or one arriving while a probe runs, gets that probe's result marked `reused` and writes
   * nothing. One entry is kept, so memory stays constant however often health is asked. S3's own error
   * text goes to the log line only; callers get the error's kind.
   */
  async probeWrite(deadline: number): Promise<ProbeResult> {
    const key = probeKey(this.config.prefix, this.config.functionName);
    const now = this.now();
    if (!this.active) return { ok: false, key, ms: 0, kind: 'disabled', at: new Date(now).toISOString(), reused: false };
    const last = this.probe;
    // A clock that went back (elapsed < 0) opens a new window rather than closing probes for good.
    if (last !== null && now - last.startedAt >= 0 && now - last.startedAt < PROBE_WINDOW_MS) {
      return { ...(await last.result), reused: true };
    }
    const entry = { startedAt: now, result: this.runProbe(key, deadline, now) };
    this.probe = entry;
    const r = await entry.result;
    // Too little time left to send anything: no write happened, so the window is not used up.
    if (r.kind === 'upload:deferred' && this.probe === entry) this.probe = last;
    return r;
  }

  private async runProbe(key: string, deadline: number, t0: number): Promise<ProbeResult> {
    const at = new Date(t0).toISOString();
    try {
      const body = Buffer.from(JSON.stringify({ containerId: this.containerId, at }));
      await this.putWithRetry(key, body, deadline);
      this.log.debug('deep health check: probe written', { key });
      return { ok: true, key, ms: this.now() - t0, kind: null, at, reused: false };
    } catch (err) {
      const e = classifyError(err, false);
      this.log.line('WARN', `deep health check: the probe write failed: ${e.message}`, { kind: e.kind, key });
      return { ok: false, key, ms: this.now() - t0, kind: e.kind, at, reused: false };
    }
  }
}
