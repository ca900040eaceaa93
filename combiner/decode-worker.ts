// Worker thread entry: decodes inputs for decode-pool.ts. Only the compiled file (dist/) is used.
// Every shard of one build lists the same files with the same lengths: that list (the layout) is sent
// once per build and then referred to by number, so a message is little more than the counters buffer.
import { parentPort, workerData } from 'node:worker_threads';
import type { InputLimits } from '../contract/format.js';
import { decodeInput, sameLayout, type Decoded, type PackedFile, type PackedTests } from '../contract/decode.js';

const limits = (workerData as { limits: InputLimits }).limits;
const layouts = new Map<string, { id: number; files: PackedFile[] }>();
let nextLayout = 0;

export type WorkerReply =
  | { id: number; result: Exclude<Decoded, { kind: 'shard' }> }
  | { id: number; shard: Extract<Decoded, { kind: 'shard' }>['shard']; counters: Float64Array; layout: number; files?: PackedFile[]; perTest?: PackedTests };

parentPort?.on('message', (msg: { id: number; bytes: Uint8Array }) => {
  let result: Decoded;
  try {
    result = decodeInput(msg.bytes, limits);
  } catch (e) {
    result = { kind: 'invalid', reason: `could not be read (${(e as Error).message})` };
  }
  if (result.kind !== 'shard') {
    parentPort!.postMessage({ id: msg.id, result } satisfies WorkerReply);
    return;
  }
  const key = result.shard.mapId ?? '';
  // The buffers move to the main thread without a copy: the counters, and the per-test spans and pairs.
  const moved = [result.counters.buffer as ArrayBuffer];
  const perTest = result.perTest === undefined ? {} : { perTest: result.perTest };
  if (result.perTest !== undefined) moved.push(result.perTest.spans.buffer as ArrayBuffer, result.perTest.pairs.buffer as ArrayBuffer);
  const known = layouts.get(key);
  if (known && sameLayout(known.files, result.files)) {
    parentPort!.postMessage({ id: msg.id, shard: result.shard, counters: result.counters, layout: known.id, ...perTest } satisfies WorkerReply, moved);
    return;
  }
  const layout = { id: nextLayout++, files: result.files };
  layouts.set(key, layout);
  parentPort!.postMessage({ id: msg.id, shard: result.shard, counters: result.counters, layout: layout.id, files: result.files, ...perTest } satisfies WorkerReply, moved);
});
