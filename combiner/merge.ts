/**
 * The merge core: pure, no I/O. Counters are summed by index inside one file version; a file version
 * is identified by its path and a fingerprint of its static maps. Istanbul's `hash` includes the file's
 * absolute path, so the same code instrumented on another machine has another hash but the same maps:
 * it merges (after `--path-map`), while two different builds of a file never do.
 *
 * Memory is one accumulator per file version (typed arrays), never per input: shards are validated,
 * added and dropped one at a time.
 */
import libCoverage, { type CoverageMap } from 'istanbul-lib-coverage';
import {
  DEFAULT_LIMITS, FORMAT_VERSION, INIT_PHASE, LIMIT_FLAGS, MAPS_FORMAT, SHARD_FORMAT, SHARD_VERSION, SHARD_VERSION_PLAIN, ShardFormatError, checkCountersMatchMaps,
  computeMapId, encodeSparse, ownFile, projectPathProblem, quotePath, type InputLimits, type BuildManifest, type FileCounters, type FileMaps, type MapsDocument, type Shard,
  type SparseCounters, type TestRecord,
} from '../contract/format.js';
import { isDecoded, packShard, type PackedFile, type PackedShard } from '../contract/decode.js';
import { InputRejectedError } from './errors.js';
import { mapsFingerprint } from './fingerprint.js';
import { perTestProblem, type TestInfo } from './per-test.js';
import { validateFileCoverage } from './istanbul-input.js';
import {
  addInto, addRange, addTestPairs, newPerTestStore, fitsShape, flatten, minHash, newVersion, shapeOf, sum, sumVersions, toCoverageMap, toMergedFile,
  type MergedFile, type PlannedFile, type Version,
} from './accumulator.js';
import {
  applyPathMap, detectBuildPrefix, isAbsolutePath, normalizeCoveragePath, pathMapHint, sameFileSpelling, type PathMapping,
  type PrefixDetection,
} from './paths.js';

export type BuildMode = 'newest' | 'all';

export interface MergerOptions {
  /** `newest` (default): one report, the newest version of each file. `all`: one report per build. */
  build?: BuildMode;
  /** `--path-map` rules, applied before prefix detection. */
  pathMap?: readonly PathMapping[];
  /** Detect the build machine's prefix of absolute paths from the relative ones. @default true */
  detectPrefix?: boolean;
  /**
   * The project's root on this machine (absolute): absolute paths of plain coverage files under it
   * become relative to it. Files no rule brings inside the project are refused with their input.
   */
  projectRoot?: string;
  /** What one input may cost. @default DEFAULT_LIMITS */
  limits?: InputLimits;
}

export interface InputInfo {
  /** S3 key or local file, used in every message about this input. */
  source: string;
  /** When the input was recorded (ms since epoch): shard `updatedAt`, else mtime / LastModified. */
  time: number;
}

/** Per file, what newest-wins left out. */
export interface DroppedVersions {
  path: string;
  keptHash: string;
  droppedHashes: string[];
  /** Inputs (shards or coverage files) whose counters for this file were left out. */
  droppedInputs: number;
}

export interface SpellingWarning {
  paths: string[];
  hint: string;
}

export interface MergedBuild {
  /** `newest`, or the build's id (`--build all`). */
  id: string;
  coverageMap: CoverageMap;
  /** The kept versions, for writing the result as a shard again. */
  files: MergedFile[];
}


export interface MergeResult {
  builds: MergedBuild[];
  dropped: DroppedVersions[];
  spellings: SpellingWarning[];
  prefix: PrefixDetection;
  /** Files whose counters saturated at Number.MAX_SAFE_INTEGER. */
  saturated: string[];
  /**
   * Plain coverage files refused because a file of theirs maps to no path inside the project (an
   * absolute path no rule maps, `../x`): reading or reporting it would reach outside the project.
   */
  refused: { source: string; reason: string }[];
  /** Files of plain coverage inputs with an inputSourceMap (transpiled code; not remapped here). */
  remapNeeded: string[];
  /** The named tests of every shard read (per-test coverage), sorted by name; their counters are in each file's `perTest`. */
  tests: TestInfo[];
}


interface LayoutPlan {
  maps: MapsDocument;
  group: string;
  total: number;
  /** Per file: its accumulator, where its counters are, and its own times when the shard gives them. */
  entries: { v: Version; offset: number; nS: number; nF: number; time: number | undefined; since: number | undefined }[];
}



function parseTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : undefined;
}

export class CoverageMerger {
  readonly build: BuildMode;
  readonly #pathMap: readonly PathMapping[];
  readonly #detectPrefix: boolean;
  /** original normalized path → version key → accumulator */
  readonly #files = new Map<string, Map<string, Version>>();
  /** `path\0hash` → maps, from manifests: resolves shards whose files are not in their maps document. */
  readonly #registry = new Map<string, FileMaps>();
  #invocations = 0;
  #inputs = 0;
  /** Named tests of the shards added: invocations, and the functions they ran in. */
  readonly #tests = new Map<string, { invocations: number; functions: Set<string> }>();
  /** Test name → id (init is 0): what each Version's perTest is indexed by. */
  readonly #testIds = new Map<string, number>([[INIT_PHASE, 0]]);
  readonly #testNames: string[] = [INIT_PHASE];
  /** Every version's per-test counters (see Version.perTest). */
  readonly #perTest = newPerTestStore();
  readonly #paths = new Map<string, string | null>();
  readonly #remap = new Set<string>();
  readonly #direct = new WeakMap<FileMaps, { path: string; group: string; v: Version }[]>();
  /**
   * What addPacked worked out for a files list (the decoder hands every shard of one layout the same
   * array): its accumulators, offsets and per-file times, valid for the same maps document and group.
   */
  readonly #plans = new WeakMap<readonly PackedFile[], LayoutPlan>();
  /** Files lists seen once: a plan is made at the second sighting (a one-off list is not worth one). */
  readonly #seenLayouts = new WeakSet<readonly PackedFile[]>();
  /**
   * Plain coverage files wait here until result(): whether each of their paths lands inside the
   * project is known only once every input's paths are (prefix detection), and one that does not is
   * refused whole rather than merged in part.
   */
  #pending: { source: string; planned: PlannedFile[]; group: string }[] = [];
  readonly #pendingPaths = new Set<string>();
  readonly #projectRoot: string | undefined;
  readonly limits: InputLimits;

  constructor(options: MergerOptions = {}) {
    this.build = options.build ?? 'newest';
    this.#pathMap = options.pathMap ?? [];
    this.#detectPrefix = options.detectPrefix ?? true;
    this.#projectRoot = options.projectRoot === undefined ? undefined : options.projectRoot.replace(/\\/g, '/').replace(/\/+$/, '');
    this.limits = options.limits ?? DEFAULT_LIMITS;
  }

  /** Inputs accepted so far (shards and coverage files). */
  get inputs(): number { return this.#inputs; }
  /** Sum of the accepted shards' invocation counts. */
  get invocations(): number { return this.#invocations; }

  /**
   * Adds one shard whose shape `parseShard` has checked. Every file is checked against its maps
   * before anything is added: on any error the whole shard is refused (InputRejectedError).
   */
  addShard(shard: Shard, maps: MapsDocument | null, info: InputInfo): void {
    this.addPacked(packShard(shard), maps, info);
  }

  /** addShard for a shard whose counters are packed in one buffer (see decode.ts). */
  addPacked(packed: PackedShard, maps: MapsDocument | null, info: InputInfo): void {
    const { shard } = packed;
    const shardTime = parseTime(shard.updatedAt);
    if (shardTime === undefined) throw new InputRejectedError(info.source, `"updatedAt" ${JSON.stringify(shard.updatedAt)} is not a date`);
    const shardSince = Math.min(parseTime(shard.startedAt) ?? shardTime, shardTime);
    const group = this.build === 'all' ? `build-${shard.mapId ?? 'unmapped'}` : '';
    // The same files list against the same maps document was checked and planned before: add at once.
    // (Only with a maps document: a manifest added later could change what a hash resolves to.)
    const plan = maps === null ? undefined : this.#plans.get(packed.files);
    // Per-test records are checked before anything is added: a bad one refuses the whole shard.
    // decodeInput's were checked as they were read.
    const perTest = packed.perTest;
    if (perTest !== undefined && !isDecoded(perTest)) {
      const problem = perTestProblem(perTest, packed.files, this.limits);
      if (problem !== undefined) throw new InputRejectedError(info.source, problem);
    }
    if (plan !== undefined && plan.maps === maps && plan.group === group && plan.total === packed.counters.length) {
      const data = packed.counters;
      for (const e of plan.entries) {
        const v = e.v;
        const time = e.time ?? shardTime;
        const since = e.since ?? shardSince;
        if (time > v.time) v.time = time;
        if (since < v.since) v.since = since;
        v.inputs++;
        let at = e.offset;
        addRange(v.s, data, at, e.nS, v); at += e.nS;
        addRange(v.f, data, at, e.nF, v); at += e.nF;
        addRange(v.b, data, at, v.b.length, v);
      }
      if (perTest !== undefined) this.#addPerTest(perTest, plan.entries.map((e) => e.v), shard.functionName);
      this.#invocations += shard.invocations;
      this.#inputs++;
      return;
    }
    const planned: PlannedFile[] = [];
    let offset = 0;
    for (const file of packed.files) {
      const rawPath = file.path;
      const path = this.#normalize(rawPath);
      if (path === null) throw new InputRejectedError(info.source, `file ${JSON.stringify(rawPath)} is not a file path`);
      // A file without a hash (a version-2 shard) takes it from the maps document its mapId names.
      const fileMaps = (maps ? ownFile(maps.files, rawPath) : undefined) ?? (file.hash === '' ? undefined : this.#registry.get(`${rawPath}\0${file.hash}`));
      if (!fileMaps) {
        const where = shard.mapId === null ? 'the shard has no maps document; pass the build manifest with --manifest'
          : `its maps document ${shard.mapId} does not list it`;
        throw new InputRejectedError(info.source, `file ${rawPath}: no static maps${file.hash === '' ? '' : ` for hash ${file.hash}`} (${where})`);
      }
      const hash = file.hash === '' ? fileMaps.hash : file.hash;
      if (!fitsShape({ hash, s: file.s, f: file.f, arms: file.arms }, fileMaps)) {
        // checkCountersMatchMaps reads only the hash and the lengths: it gives the message.
        const lengths = { hash, s: { length: file.s }, f: { length: file.f }, b: file.arms.map((n) => ({ length: n })) };
        try {
          checkCountersMatchMaps(lengths as unknown as FileCounters, fileMaps, `file ${rawPath}`);
        } catch (e) {
          throw new InputRejectedError(info.source, (e as Error).message, { cause: e });
        }
        throw new InputRejectedError(info.source, `file ${rawPath}: counters do not match its maps`);
      }
      // A combined shard (--as-shard) keeps each file's own time, so merging stays associative.
      const fileTime = parseTime(file.updatedAt) ?? shardTime;
      const since = parseTime(file.startedAt) ?? shardSince;
      planned.push({ path, hash, maps: fileMaps, data: packed.counters, offset, nS: file.s, nF: file.f, arms: file.arms, time: fileTime, since });
      offset += file.s + file.f + sum(file.arms);
    }
    if (offset !== packed.counters.length) throw new InputRejectedError(info.source, `has ${packed.counters.length} counters, its files list ${offset}`);
    this.#commit(planned, group);
    if (perTest !== undefined) this.#addPerTest(perTest, planned.map((p) => this.#version(p, group)), shard.functionName);
    this.#invocations += shard.invocations;
    this.#inputs++;
    if (maps !== null && this.#seenLayouts.has(packed.files)) {
      this.#plans.set(packed.files, {
        maps, group, total: offset,
        entries: planned.map((p, k) => {
          const file = packed.files[k]!;
          // Each planned file's hash is in its accumulator now, and stays the same for this layout.
          return { v: this.#version(p, group), offset: p.offset, nS: p.nS, nF: p.nF, time: parseTime(file.updatedAt), since: parseTime(file.startedAt) };
        }),
      });
    } else if (maps !== null) {
      this.#seenLayouts.add(packed.files);
    }
  }

  /** A checked shard's per-test records into the versions of its files (`versions[i]`: of file i). */
  #addPerTest(pt: NonNullable<PackedShard['perTest']>, versions: readonly Version[], functionName: string): void {
    const { tests, spans, pairs } = pt;
    const ids = tests.map((t) => {
      let id = this.#testIds.get(t.name);
      if (id === undefined) {
        this.#testIds.set(t.name, (id = this.#testNames.length));
        this.#testNames.push(t.name);
      }
      return id;
    });
    addTestPairs(this.#perTest, versions, ids, 0, spans, pairs);
    for (const t of tests) {
      let info = this.#tests.get(t.name);
      if (info === undefined) this.#tests.set(t.name, (info = { invocations: 0, functions: new Set() }));
      info.invocations = Math.min(Number.MAX_SAFE_INTEGER, info.invocations + t.invocations);
      for (const f of t.functions ?? [functionName]) info.functions.add(f);
    }
  }

  /** The named tests added so far, sorted by name. */
  tests(): TestInfo[] {
    return [...this.#tests].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, t]) => ({ name, invocations: t.invocations, functions: [...t.functions].sort() }));
  }

  /**
   * Adds a plain Istanbul coverage object (`coverage-final.json`, `.nyc_output/*.json`, vitest).
   * Each entry is validated against its own maps; one bad entry refuses the whole file.
   */
  addIstanbul(data: unknown, info: InputInfo): void {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
      throw new InputRejectedError(info.source, 'not Istanbul coverage: expected a JSON object of file coverage');
    }
    const planned: PlannedFile[] = [];
    const seen = new Map<string, string>();
    const entries = Object.entries(data);
    if (entries.length > this.limits.maxFiles) {
      throw new InputRejectedError(info.source, `${entries.length} files, over the bound of ${this.limits.maxFiles} (raise it with ${LIMIT_FLAGS.maxFiles} if this input is genuine)`);
    }
    for (const [key, value] of entries) {
      const file = validateFileCoverage(key, value, info.source, this.limits);
      const path = normalizeCoveragePath(file.path);
      if (path === null) throw new InputRejectedError(info.source, `entry ${JSON.stringify(key)}: "path" is not a file path`);
      const other = seen.get(path);
      if (other !== undefined) {
        throw new InputRejectedError(info.source, `entries ${JSON.stringify(other)} and ${JSON.stringify(key)} are the same file ${path}`);
      }
      seen.set(path, key);
      if ((value as { inputSourceMap?: unknown } | null)?.inputSourceMap) this.#remap.add(path);
      planned.push({ ...flatten(file), path, time: info.time, since: info.time });
    }
    for (const p of planned) this.#pendingPaths.add(p.path);
    this.#pending.push({ source: info.source, planned, group: this.build === 'all' ? 'coverage-files' : '' });
  }

  /** A build manifest: every file it lists appears in the report, with zero counts if it never ran. */
  addManifest(manifest: BuildManifest, info: InputInfo): void {
    const time = parseTime(manifest.createdAt) ?? info.time;
    const group = this.build === 'all' ? `build-${computeMapId(Object.values(manifest.files))}` : '';
    const planned: PlannedFile[] = [];
    for (const [rawPath, maps] of Object.entries(manifest.files)) {
      const path = normalizeCoveragePath(rawPath);
      if (path === null) throw new InputRejectedError(info.source, `file ${JSON.stringify(rawPath)} is not a file path`);
      const shape = shapeOf(maps);
      planned.push({ path, hash: maps.hash, maps, time, since: time, data: [], offset: 0, nS: shape.s, nF: shape.f, arms: shape.arms.map((n) => Math.max(0, n)) });
      this.#registry.set(`${rawPath}\0${maps.hash}`, maps);
    }
    this.#commit(planned, group, false);
  }

  #normalize(rawPath: string): string | null {
    let p = this.#paths.get(rawPath);
    if (p === undefined) {
      p = normalizeCoveragePath(rawPath);
      if (this.#paths.size < 1_000_000) this.#paths.set(rawPath, p);
    }
    return p;
  }

  #version(p: PlannedFile, group: string): Version {
    // Shards of one build share their maps objects: find the accumulator without building keys.
    const direct = this.#direct.get(p.maps);
    const hit = direct?.find((d) => d.path === p.path && d.group === group);
    if (hit) return hit.v;
    const fp = mapsFingerprint(p.maps);
    let versions = this.#files.get(p.path);
    if (!versions) this.#files.set(p.path, (versions = new Map()));
    const vkey = `${group}\0${fp}`;
    let v = versions.get(vkey);
    if (!v) versions.set(vkey, (v = newVersion(p.path, group, fp, p.maps, p.arms)));
    if (direct) direct.push({ path: p.path, group, v });
    else this.#direct.set(p.maps, [{ path: p.path, group, v }]);
    return v;
  }

  #commit(planned: readonly PlannedFile[], group: string, countsAsInput = true): void {
    for (const p of planned) {
      const v = this.#version(p, group);
      v.hashes.add(p.hash);
      if (p.time > v.time) v.time = p.time;
      if (p.since < v.since) v.since = p.since;
      if (countsAsInput) v.inputs++;
      addInto(v, p);
    }
  }

  /**
   * Chooses versions, maps paths, and builds Istanbul coverage maps. Plain coverage files added so far
   * are merged here (or refused); otherwise the merger does not change.
   */
  result(): MergeResult {
    const finalPath = this.#pathResolver();
    const outside = (p: string) => projectPathProblem(finalPath.map(p), this.limits.maxPathLength);
    const inside = new Set([...this.#files.keys(), ...this.#pendingPaths].map(finalPath.map).filter((p) => projectPathProblem(p) === undefined));
    for (const input of this.#pending) {
      const bad = input.planned.find((p) => outside(p.path) !== undefined);
      if (bad === undefined) {
        this.#commit(input.planned, input.group);
        this.#inputs++;
        continue;
      }
      const mapped = finalPath.map(bad.path);
      const hint = pathMapHint(mapped, inside);
      this.#refused.push({
        source: input.source,
        reason: `file ${quotePath(bad.path)}${mapped !== bad.path ? ` (mapped to ${quotePath(mapped)})` : ''} is not inside the project${this.#projectRoot ? ` ${this.#projectRoot}` : ''}: ${outside(bad.path)}; ${hint ?? 'map it with --path-map FROM=TO or run from the project root (--source-root)'}`,
      });
    }
    this.#pending = [];
    this.#pendingPaths.clear();
    // Versions of the same final path and maps collapse into one (e.g. nyc's absolute path and ours).
    const byPath = new Map<string, Map<string, Version>>();
    for (const [orig, versions] of this.#files) {
      const to = finalPath.map(orig);
      // Only a --path-map rule can send a checked path outside: such files are left out, and said.
      if (outside(orig) !== undefined) {
        if (!this.#refused.some((r) => r.source === '--path-map' && r.reason.startsWith(`file ${quotePath(orig)} `))) {
          this.#refused.push({ source: '--path-map', reason: `file ${quotePath(orig)} maps to ${quotePath(to)}, which is not a path inside the project: ${outside(orig)}` });
        }
        continue;
      }
      let target = byPath.get(to);
      if (!target) byPath.set(to, (target = new Map()));
      for (const [vkey, v] of versions) {
        const existing = target.get(vkey);
        target.set(vkey, existing ? sumVersions(existing, v, to) : { ...v, path: to });
      }
    }

    const groups = new Map<string, MergedFile[]>();
    const dropped: DroppedVersions[] = [];
    const saturated: string[] = [];
    for (const [path, versions] of [...byPath].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const byGroup = new Map<string, Version[]>();
      for (const v of versions.values()) {
        const list = byGroup.get(v.group);
        if (list) list.push(v); else byGroup.set(v.group, [v]);
      }
      for (const [group, list] of byGroup) {
        // Newest wins: the version whose first container started last. A container of an older version
        // that stays warm after a deploy (or during a canary shift) writes later, but started earlier.
        // Ties fall back to the latest write, then to the fingerprint, so any grouping of inputs picks the same.
        list.sort((a, b) => b.since - a.since || b.time - a.time || (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0));
        const [kept, ...rest] = list as [Version, ...Version[]];
        if (rest.length > 0) {
          dropped.push({
            path, keptHash: minHash(kept),
            droppedHashes: rest.flatMap((v) => [...v.hashes]).sort(),
            droppedInputs: rest.reduce((n, v) => n + v.inputs, 0),
          });
        }
        if (kept.saturated) saturated.push(path);
        const out = groups.get(group) ?? [];
        out.push(toMergedFile(kept, this.#testNames));
        groups.set(group, out);
      }
    }

    const builds: MergedBuild[] = [...groups].sort(([a], [b]) => (a < b ? -1 : 1)).map(([group, files]) => ({
      id: group === '' ? 'newest' : group,
      files,
      coverageMap: toCoverageMap(files),
    }));
    if (builds.length === 0) builds.push({ id: 'newest', files: [], coverageMap: libCoverage.createCoverageMap({}) });
    const remapNeeded = [...this.#remap].map((p) => finalPath.map(p)).sort();
    return { builds, dropped, spellings: findSpellings(byPath), prefix: finalPath.prefix, saturated, refused: [...this.#refused], remapNeeded, tests: this.tests() };
  }

  readonly #refused: { source: string; reason: string }[] = [];

  #pathResolver(): { map: (p: string) => string; prefix: PrefixDetection } {
    const mapped = new Map<string, string>();
    // --path-map first (the user's word), then paths under the project root become relative to it.
    const root = this.#projectRoot ? [{ from: this.#projectRoot, to: '.' }] : [];
    for (const p of [...this.#files.keys(), ...this.#pendingPaths]) {
      let m = applyPathMap(p, this.#pathMap);
      if (m === p) m = applyPathMap(p, root);
      mapped.set(p, m);
    }
    let prefix: PrefixDetection = { kind: 'none' };
    if (this.#detectPrefix) {
      const rel = new Set([...mapped.values()].filter((p) => !isAbsolutePath(p)));
      const abs = [...mapped.values()].filter(isAbsolutePath);
      prefix = detectBuildPrefix(abs, rel);
      if (prefix.kind === 'detected') {
        const rule = [{ from: prefix.prefix, to: '.' }];
        for (const [k, v] of mapped) mapped.set(k, applyPathMap(v, rule));
      }
    }
    return { map: (p) => mapped.get(p) ?? p, prefix };
  }

  /** The merged result as a shard plus its maps document: combining it again gives the same result. */
  toShard(build: MergedBuild, meta: { functionName?: string; functionVersion?: string; containerId: string; now?: Date }): { shard: Shard; maps: MapsDocument } {
    const mapId = computeMapId(build.files);
    const files: Shard['files'] = {};
    const mapsFiles: MapsDocument['files'] = {};
    let first = Infinity;
    let last = 0;
    for (const f of build.files) {
      const counters: FileCounters & { startedAt: string; updatedAt: string } = {
        hash: f.hash, s: Array.from(f.s), f: Array.from(f.f), b: f.b,
        startedAt: new Date(f.since).toISOString(), updatedAt: new Date(f.time).toISOString(),
      };
      files[f.path] = counters;
      mapsFiles[f.path] = { path: f.path, hash: f.hash, statementMap: f.maps.statementMap, fnMap: f.maps.fnMap, branchMap: f.maps.branchMap };
      first = Math.min(first, f.since);
      last = Math.max(last, f.time);
    }
    const now = (meta.now ?? new Date()).getTime();
    const perTest = this.#perTestOf(build);
    const shard: Shard = {
      format: SHARD_FORMAT, version: perTest === undefined ? SHARD_VERSION_PLAIN : SHARD_VERSION,
      functionName: meta.functionName ?? 'combined', functionVersion: meta.functionVersion ?? 'combined', containerId: meta.containerId,
      startedAt: new Date(Number.isFinite(first) ? first : now).toISOString(),
      updatedAt: new Date(last > 0 ? last : now).toISOString(),
      invocations: this.#invocations, mapId, files, ...perTest,
    };
    return { shard, maps: { format: MAPS_FORMAT, version: FORMAT_VERSION, mapId, files: mapsFiles } };
  }

  /**
   * A build's per-test counters as a shard's `tests` and `init` (version 3), each test naming the
   * functions it ran in (a combined shard's own functionName says nothing of them); undefined when
   * no input had any. Objects keyed by test names have no prototype: a name is input.
   */
  #perTestOf(build: MergedBuild): Pick<Shard, 'tests' | 'init'> | undefined {
    const hasInit = build.files.some((f) => f.perTest?.has(INIT_PHASE));
    if (this.#tests.size === 0 && !hasInit) return undefined;
    const sparse = (c: Float64Array): SparseCounters => {
      const offsets: number[] = [];
      const counts: number[] = [];
      for (let i = 0; i < c.length; i++) if (c[i] !== 0) { offsets.push(i); counts.push(c[i]!); }
      return encodeSparse(offsets, counts);
    };
    const tests: Record<string, TestRecord> = Object.create(null);
    for (const t of this.tests()) {
      const files: Record<string, SparseCounters> = Object.create(null);
      for (const f of build.files) {
        const c = f.perTest?.get(t.name);
        if (c !== undefined) files[f.path] = sparse(c);
      }
      tests[t.name] = { invocations: t.invocations, files, functions: t.functions };
    }
    const out: Pick<Shard, 'tests' | 'init'> = { tests };
    if (hasInit) {
      const init: Record<string, SparseCounters> = Object.create(null);
      for (const f of build.files) {
        const c = f.perTest?.get(INIT_PHASE);
        if (c !== undefined) init[f.path] = sparse(c);
      }
      out.init = init;
    }
    return out;
  }
}


function findSpellings(byPath: Map<string, Map<string, Version>>): SpellingWarning[] {
  const byFp = new Map<string, Set<string>>();
  for (const [path, versions] of byPath) {
    for (const v of versions.values()) {
      if (v.s.length === 0 && v.f.length === 0) continue; // empty files all look alike
      const set = byFp.get(v.fingerprint) ?? new Set();
      set.add(path);
      byFp.set(v.fingerprint, set);
    }
  }
  const out: SpellingWarning[] = [];
  for (const paths of byFp.values()) {
    const list = [...paths].sort();
    const related = list.filter((a) => list.some((b) => sameFileSpelling(a, b)));
    if (related.length > 1) {
      const rel = related.find((p) => !isAbsolutePath(p));
      const maps = rel === undefined ? [] : related.filter((p) => isAbsolutePath(p) && p.endsWith(`/${rel}`))
        .map((p) => `--path-map ${p.slice(0, p.length - rel.length - 1)}=.`);
      const hint = maps.length > 0
        ? `pass ${maps.join(' ')} to merge them`
        : 'they are reported separately; use --path-map to give them one spelling';
      out.push({ paths: related, hint });
    }
  }
  return out;
}

export { ShardFormatError, InputRejectedError, mapsFingerprint, packShard, toCoverageMap, type MergedFile, type PackedShard };
