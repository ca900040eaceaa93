// Worker thread entry: instruments files sent by the pool in workers.ts.
import { parentPort } from 'node:worker_threads';
import { instrumentSource, InstrumentError, type InstrumentRequest } from './instrument-core.js';

export interface WorkerReply {
  id: number;
  result?: Awaited<ReturnType<typeof instrumentSource>>;
  error?: { message: string; file: string; location?: InstrumentError['location']; stack?: string | undefined };
}

parentPort?.on('message', (msg: { id: number; req: InstrumentRequest }) => {
  instrumentSource(msg.req).then(
    (result) => parentPort?.postMessage({ id: msg.id, result } satisfies WorkerReply),
    (e: unknown) => {
      const err = e instanceof InstrumentError ? e : new InstrumentError(String((e as Error)?.message ?? e), msg.req.filename);
      parentPort?.postMessage({
        id: msg.id,
        error: { message: err.message, file: err.file, location: err.location, stack: (e as Error)?.stack },
      } satisfies WorkerReply);
    },
  );
});
