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
import { decodeInput, type Decoded, type PackedFile } from './decode.js';
import type { WorkerReply } from './decode-worker.js';

const WORKER_URL = new URL('./decode-worker.js', import.meta.url);

export interface Decoder {
  decode(bytes: Uint8Array): Promise<Decoded>;
  close(): Promise<void>;
}

const inline: Decoder = { decode: async (bytes) => decodeInput(bytes), close: async () => {} };

/** `threads`: worker count; `'auto'`: one per core (at most 4) when there are ≥ 2 cores. */
export function createDecoder(threads: number | 'auto' = 'auto'): Decoder {
  const n = threads === 'auto' ? (availableParallelism() >= 2 ? Math.min(4, availableParallelism()) : 0) : threads;
  if (n <= 0 || WORKER_URL.protocol !== 'file:' || !existsSync(fileURLToPath(WORKER_URL))) return inline;
  const workers: { w: Worker; busy: number; layouts: Map<number, PackedFile[]> }[] = [];
  const waiting = new Map<number, { resolve: (d: Decoded) => void; reject: (e: unknown) => void; worker: { busy: number } }>();
  let nextId = 0;
  let failed: unknown;
  for (let i = 0; i < n; i++) {
    // Not --input-type / --eval flags of a `node -e` parent: a worker is a file.
    const w = new Worker(WORKER_URL, { execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')) });
    const slot = { w, busy: 0, layouts: new Map<number, PackedFile[]>() };
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
      p.resolve({ kind: 'shard', shard: m.shard, files: slot.layouts.get(m.layout)!, counters: m.counters });
    });
    w.on('error', (e) => {
      failed = e;
      for (const [id, p] of waiting) { if (p.worker === slot) { waiting.delete(id); p.reject(e); } }
    });
    workers.push(slot);
  }
  return {
    decode(bytes) {
      if (failed !== undefined) return inline.decode(bytes);
      const slot = workers.reduce((a, b) => (b.busy < a.busy ? b : a));
      const id = nextId++;
      // Transfer the bytes when they own their whole buffer, else copy them.
      const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
      const payload = own ? bytes : bytes.slice();
      return new Promise<Decoded>((resolve, reject) => {
        waiting.set(id, { resolve, reject, worker: slot });
        slot.busy++;
        slot.w.postMessage({ id, bytes: payload }, [payload.buffer as ArrayBuffer]);
      });
    },
    async close() {
      await Promise.all(workers.map((s) => s.w.terminate()));
    },
  };
}
