/**
 * Deferred flush: the layer's external extension holds the invoke phase open until the runtime says
 * the upload of that invocation is done. Before it first asks for an event, the extension writes
 * `extension.json` into /tmp/lambda-coverage (its FIFO, and whether Lambda let it subscribe to
 * INVOKE); the runtime writes one line per invocation into the FIFO: `done <requestId>`.
 */
import { join } from 'node:path';
import { fs } from './fs.js';

const { closeSync, constants, openSync, readFileSync, writeSync } = fs;

export interface ExtensionInfo { fifo: string; invoke: boolean; note: string | null }

export function readExtensionInfo(tmp: string): ExtensionInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(join(tmp, 'extension.json'), 'utf8')) as Partial<ExtensionInfo>;
    if (typeof info.fifo !== 'string') return undefined;
    return { fifo: info.fifo, invoke: info.invoke === true, note: typeof info.note === 'string' ? info.note : null };
  } catch {
    return undefined;
  }
}

export class ExtensionLink {
  private fd: number | undefined;
  broken: string | null = null;

  constructor(private readonly path: string) {}

  /**
   * Best effort, never blocks: the FIFO is opened non-blocking (an absent reader is an error, not a
   * hang) and a line is far below PIPE_BUF, so it is written whole. If the extension is gone it
   * releases the invoke phase itself at its time bound.
   */
  done(requestId: string): void {
    if (this.broken !== null) return;
    try {
      this.fd ??= openSync(this.path, constants.O_WRONLY | constants.O_NONBLOCK);
      writeSync(this.fd, `done ${requestId.replace(/\s/g, '')}\n`);
    } catch (err) {
      this.broken = (err as Error).message;
      if (this.fd !== undefined) try { closeSync(this.fd); } catch { /* already gone */ }
      this.fd = undefined;
    }
  }
}
