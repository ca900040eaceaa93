/**
 * Deferred flush: the layer's external extension holds the invoke phase open until the runtime says
 * the upload of that invocation is done. The extension writes `extension.json` (its socket and
 * whether Lambda let it subscribe to INVOKE) into the layer's /tmp directory before it first asks for
 * an event; the runtime sends one line per invocation: `done <requestId>`.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';

export interface ExtensionInfo { socket: string; invoke: boolean; note: string | null }

export function readExtensionInfo(tmp: string): ExtensionInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(join(tmp, 'extension.json'), 'utf8')) as Partial<ExtensionInfo>;
    if (typeof info.socket !== 'string') return undefined;
    return { socket: info.socket, invoke: info.invoke === true, note: typeof info.note === 'string' ? info.note : null };
  } catch {
    return undefined;
  }
}

export class ExtensionLink {
  private socket: Socket | undefined;
  broken: string | null = null;

  constructor(private readonly path: string) {}

  /** Best effort: if the extension is gone it releases the invoke phase itself at its time bound. */
  done(requestId: string): void {
    if (this.broken !== null) return;
    try {
      if (this.socket === undefined || this.socket.destroyed) {
        const s = connect(this.path);
        s.on('error', (err) => { this.broken = err.message; this.socket = undefined; });
        s.unref();
        this.socket = s;
      }
      this.socket.write(`done ${requestId.replace(/\s/g, '')}\n`);
    } catch (err) {
      this.broken = (err as Error).message;
    }
  }
}
