/**
 * A small pool of worker threads that run instrumentSource. Each worker loads Babel once; files go to
 * the worker with the fewest files in flight.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InstrumentError, type Instrumented } from './instrumented.js';
import type { InstrumentRequest } from './request.js';
import type { WorkerReply } from './worker.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

/** Worker threads need the compiled worker.js (from dist/); running from TS sources has none. */
export function workerAvailable(): boolean {
  return WORKER_URL.protocol === 'file:' && existsSync(fileURLToPath(WORKER_URL));
}

interface Slot {
  worker: Worker;
  inFlight: number;
}

export class InstrumentPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, { resolve: (r: Instrumented) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  /** Set when a worker died: later files fail at once rather than wait for it forever. */
  private broken: Error | undefined;
  private closing = false;

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(WORKER_URL);
      const slot: Slot = { worker, inFlight: 0 };
      worker.on('message', (reply: WorkerReply) => {
        slot.inFlight--;
        const p = this.pending.get(reply.id);
        if (!p) return;
        this.pending.delete(reply.id);
        if (reply.result) p.resolve(reply.result);
        else {
          const e = reply.error;
          p.reject(new InstrumentError(e?.message ?? 'worker failed', e?.file ?? '', e?.location));
        }
      });
      worker.on('error', (err) => this.failAll(new Error(`lambda-coverage: an instrument worker crashed: ${err.message}`, { cause: err })));
      worker.on('exit', (code) => {
        if (!this.closing) this.failAll(new Error(`lambda-coverage: an instrument worker exited (code ${code}); run with workers: 0 to instrument on the main thread`));
      });
      worker.unref();
      this.slots.push(slot);
    }
  }

  private failAll(err: Error): void {
    this.broken ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  run(req: InstrumentRequest): Promise<Instrumented> {
    if (this.broken) return Promise.reject(this.broken);
    const slot = this.slots.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const id = this.nextId++;
    slot.inFlight++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, req });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
