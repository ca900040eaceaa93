/**
 * Reads items with bounded concurrency, tells shards from plain Istanbul files, validates, and hands
 * them to the merger. An invalid input is skipped whole and reported; only I/O that keeps failing after
 * retries (S3 unreachable, access denied) stops the run.
 */
import { DEFAULT_LIMITS, ShardFormatError, type InputLimits } from '../contract/format.js';
import { createDecoder, type Decoder } from './decode-pool.js';
import { InputRejectedError, type CoverageMerger } from './merge.js';
import type { SourceItem } from './sources.js';

export type SkipKind = 'invalid' | 'missing' | 'ignored';

export interface Skipped {
  source: string;
  kind: SkipKind;
  reason: string;
}

export interface IngestStats {
  shards: number;
  coverageFiles: number;
  functions: Set<string>;
  skipped: Skipped[];
  bytes: number;
  /** `function\0container` → the copy in use: a container's shard is cumulative, so it counts once. */
  containers: Map<string, { source: string; accepted: Promise<boolean> }>;
  /** Plain coverage files accepted (with `containers`, what a merged result is made of). */
  coverageFileSources: string[];
}

export interface IngestProgress {
  done: number;
  listed: number;
  listing: boolean;
}

export function newStats(): IngestStats {
  return { shards: 0, coverageFiles: 0, functions: new Set(), skipped: [], bytes: 0, containers: new Map(), coverageFileSources: [] };
}

/** Decodes, classifies, validates and merges one input; throws InputRejectedError for a bad one. */
export async function ingestOne(item: SourceItem, bytes: Uint8Array, merger: CoverageMerger, stats: IngestStats, decoder: Decoder = createDecoder(0)): Promise<void> {
  const decoded = await decoder.decode(bytes);
  switch (decoded.kind) {
    case 'invalid':
      throw new InputRejectedError(item.source, decoded.reason);
    case 'maps':
    case 'summary':
    case 'manifest': {
      const why = { maps: 'a maps document (read through the shards that point at it)', summary: 'a coverage summary, not coverage data', manifest: 'a build manifest; pass it with --manifest to list files that never ran' }[decoded.kind];
      stats.skipped.push({ source: item.source, kind: 'ignored', reason: why });
      return;
    }
    case 'istanbul':
      merger.addIstanbul(decoded.doc, { source: item.source, time: item.mtime ? await item.mtime() : item.time });
      stats.coverageFiles++;
      stats.coverageFileSources.push(item.source);
      return;
    case 'shard': {
      const { shard } = decoded;
      // The same container's shard twice (a bucket and a local copy of it given together) would
      // count its invocations twice: only one copy is used. A copy that waits on another is used
      // when that other one is refused (a corrupt local copy must not hide the good one).
      const container = `${shard.functionName}\0${shard.containerId}`;
      for (let first = stats.containers.get(container); first; first = stats.containers.get(container)) {
        if (await first.accepted) {
          const reason = shard.containerId.startsWith('merged-')
            ? `a merged result of the same inputs as ${first.source}; counted once`
            : `same function and container (${shard.functionName}, ${shard.containerId}) as ${first.source}; a container's shard is cumulative, so it is counted once`;
          stats.skipped.push({ source: item.source, kind: 'ignored', reason });
          return;
        }
      }
      let settle!: (accepted: boolean) => void;
      stats.containers.set(container, { source: item.source, accepted: new Promise((r) => { settle = r; }) });
      try {
        let maps = null;
        if (shard.mapId !== null) {
          try {
            maps = await item.loadMaps(shard.mapId);
          } catch (e) {
            throw new InputRejectedError(item.source, (e as Error).message, { cause: e });
          }
        }
        merger.addPacked(decoded, maps, { source: item.source, time: item.time });
        settle(true);
      } catch (e) {
        stats.containers.delete(container);
        settle(false);
        throw e;
      }
      stats.shards++;
      stats.functions.add(shard.functionName);
    }
  }
}

export interface IngestOptions {
  concurrency: number;
  /** Worker threads decoding inputs. @default 'auto' */
  threads?: number | 'auto';
  /** What one input may cost. @default DEFAULT_LIMITS */
  limits?: InputLimits;
  onProgress?: (p: IngestProgress) => void;
}

/** Pulls items from every source with `concurrency` workers; the merger is fed one input at a time. */
export async function ingest(sources: AsyncIterable<SourceItem>[], merger: CoverageMerger, stats: IngestStats, opts: IngestOptions): Promise<void> {
  const progress: IngestProgress = { done: 0, listed: 0, listing: true };
  let sourceIndex = 0;
  let current: AsyncIterator<SourceItem> | undefined;
  let failed: unknown;
  // Async generators queue concurrent next() calls, so workers share the listing safely.
  const next = async (): Promise<SourceItem | undefined> => {
    while (sourceIndex < sources.length) {
      const it = (current ??= sources[sourceIndex]![Symbol.asyncIterator]());
      const r = await it.next();
      if (!r.done) {
        progress.listed++;
        return r.value;
      }
      // Several workers may see the same source end; only the first moves on.
      if (current === it) {
        current = undefined;
        sourceIndex++;
      }
    }
    progress.listing = false;
    return undefined;
  };
  const worker = async (decoder: Decoder): Promise<void> => {
    while (failed === undefined) {
      const item = await next();
      if (!item) return;
      try {
        const bytes = await item.read();
        if (bytes === null) {
          stats.skipped.push({ source: item.source, kind: 'missing', reason: 'deleted after it was listed' });
        } else {
          stats.bytes += bytes.byteLength;
          await ingestOne(item, bytes, merger, stats, decoder);
        }
      } catch (e) {
        if (e instanceof InputRejectedError) stats.skipped.push({ source: e.source, kind: 'invalid', reason: e.reason });
        else if (e instanceof ShardFormatError) stats.skipped.push({ source: item.source, kind: 'invalid', reason: e.message });
        else throw e;
      }
      progress.done++;
      opts.onProgress?.(progress);
    }
  };
  const n = Math.max(1, Math.floor(opts.concurrency));
  const decoder = createDecoder(opts.threads ?? 'auto', opts.limits ?? DEFAULT_LIMITS);
  try {
    await Promise.all(Array.from({ length: n }, () => worker(decoder).catch((e: unknown) => { failed ??= e; })));
  } finally {
    await decoder.close();
  }
  progress.listing = false;
  opts.onProgress?.(progress);
  if (failed !== undefined) throw failed;
}
