/**
 * Deferred flush: the layer's external extension holds the invoke phase open until the runtime says
 * the upload of that invocation is done. The extension makes its FIFO in /tmp/lambda-coverage before
 * it registers (so before the runtime starts) and, before it first asks for an event, writes
 * `extension.json` there (whether Lambda let it subscribe to INVOKE). The runtime writes `ready` into
 * the FIFO at cold start, then one line per invocation: `done <requestId>`. The extension holds no
 * invoke phase before it has read `ready`: a runtime that never reports must not be held.
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
   * The FIFO the extension made in `tmp` (it exists before the runtime starts), told that this
   * runtime reports every invocation; undefined when no extension is there to tell.
   */
  static arm(tmp: string): ExtensionLink | undefined {
    const link = new ExtensionLink(join(tmp, 'extension.fifo'));
    link.write('ready');
    return link.broken === null ? link : undefined;
  }

  /** The upload after this invocation is over (or was never needed): the extension may end the phase. */
  done(requestId: string): void {
    this.write(`done ${requestId.replace(/\s/g, '')}`);
  }

  /**
   * Best effort, never blocks: the FIFO is opened non-blocking (an absent reader is an error, not a
   * hang) and a line is far below PIPE_BUF, so it is written whole. If the extension is gone it
   * releases the invoke phase itself at its time bound.
   */
  private write(line: string): void {
    if (this.broken !== null) return;
    try {
      this.fd ??= openSync(this.path, constants.O_WRONLY | constants.O_NONBLOCK);
      writeSync(this.fd, `${line}\n`);
    } catch (err) {
      this.broken = (err as Error).message;
      if (this.fd !== undefined) try { closeSync(this.fd); } catch { /* already gone */ }
      this.fd = undefined;
    }
  }
}
