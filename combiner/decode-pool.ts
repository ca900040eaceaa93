/**
 * Decoding on worker threads: gunzip + JSON.parse + validation of thousands of shards is most of a
 * combine's CPU time, and merging on the main thread overlaps it. Used when the compiled worker
 * (dist/combiner/decode-worker.js) exists and there is more than one core; otherwise inputs are decoded
 * on the main thread, with the same code.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DEFAULT_LIMITS, type InputLimits } from '../contract/format.js';
import { decodeInput, markDecoded, sameLayout, type Decoded, type PackedFile } from '../contract/decode.js';
import type { WorkerReply } from './decode-worker.js';

const WORKER_URL = new URL('./decode-worker.js', import.meta.url);

export interface Decoder {
  decode(bytes: Uint8Array): Promise<Decoded>;
  close(): Promise<void>;
}

/**
 * Decoding on this thread. Like a worker, it hands shards of one layout the same files list, which
 * lets the merger reuse what it worked out for that list.
 */
function inlineDecoder(limits: InputLimits): Decoder {
  let last: PackedFile[] | undefined;
  return {
    decode: async (bytes) => {
      const d = decodeInput(bytes, limits);
      if (d.kind === 'shard') {
        if (last !== undefined && sameLayout(last, d.files)) d.files = last;
        else last = d.files;
      }
      return d;
    },
    close: async () => {},
  };
}

/** `threads`: worker count; `'auto'`: one per core (at most 4) when there are ≥ 2 cores. */
export function createDecoder(threads: number | 'auto' = 'auto', limits: InputLimits = DEFAULT_LIMITS): Decoder {
  const n = threads === 'auto' ? (availableParallelism() >= 2 ? Math.min(4, availableParallelism()) : 0) : threads;
  if (n <= 0 || WORKER_URL.protocol !== 'file:' || !existsSync(fileURLToPath(WORKER_URL))) return inlineDecoder(limits);
  const inline = inlineDecoder(limits);
  type Slot = { w: Worker; busy: number; layouts: Map<number, PackedFile[]>; dead: boolean };
  interface Pending { resolve: (d: Decoded) => void; slot: Slot; bytes: Uint8Array }
  const workers: Slot[] = [];
  const waiting = new Map<number, Pending>();
  let nextId = 0;
  let closing = false;
  // A worker that dies (out of memory, a crash) must not fail the run: what it held is decoded here.
  const retire = (slot: Slot) => {
    if (slot.dead) return;
    slot.dead = true;
    for (const [id, p] of waiting) {
      if (p.slot !== slot) continue;
      waiting.delete(id);
      p.resolve(decodeInput(p.bytes, limits));
    }
  };
  for (let i = 0; i < n; i++) {
    // Not --input-type / --eval flags of a `node -e` parent: a worker is a file.
    const w = new Worker(WORKER_URL, { workerData: { limits }, execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')) });
    const slot: Slot = { w, busy: 0, layouts: new Map(), dead: false };
    w.on('message', (m: WorkerReply) => {
      const p = waiting.get(m.id);
      if (!p) return;
      waiting.delete(m.id);
      slot.busy--;
      if ('result' in m) {
        p.resolve(m.result);
        return;
      }
      // A worker's messages arrive in order, so a layout is known before it is referred to.
      if (m.files) slot.layouts.set(m.layout, m.files);
      // The worker's decodeInput checked the per-test records: the merger need not again.
      p.resolve({ kind: 'shard', shard: m.shard, files: slot.layouts.get(m.layout)!, counters: m.counters, ...(m.perTest ? { perTest: markDecoded(m.perTest) } : {}) });
    });
    w.on('error', () => retire(slot));
    w.on('exit', () => { if (!closing) retire(slot); });
    workers.push(slot);
  }
  return {
    decode(bytes) {
      const live = workers.filter((s) => !s.dead);
      if (live.length === 0) return inline.decode(bytes);
      const slot = live.reduce((a, b) => (b.busy < a.busy ? b : a));
      const id = nextId++;
      // The worker gets a copy (transferred): the original stays here in case the worker dies.
      const payload = bytes.slice();
      return new Promise<Decoded>((resolve) => {
        waiting.set(id, { resolve, slot, bytes });
        slot.busy++;
        slot.w.postMessage({ id, bytes: payload }, [payload.buffer as ArrayBuffer]);
      });
    },
    async close() {
      closing = true;
      await Promise.all(workers.map((s) => s.w.terminate()));
    },
  };
}
