/**
 * A shard's JSON written as bytes into one buffer the collector keeps between flushes: the same bytes
 * as `JSON.stringify(buildShard(meta, snap, mapId, now))`, without building the shard object (a new
 * object per file at every flush) or one string of the whole that is then copied into a Buffer. With
 * the snapshot's, that was ~220 KB of garbage per invocation for 321 files (now ~160 KB, most of it
 * the HTTP request's and the arrays' own JSON text; measured). Pure.
 */
import { SHARD_FORMAT, SHARD_VERSION, SHARD_VERSION_PLAIN } from '../contract/format.js';
import type { ShardMeta, Snapshot } from './snapshot.js';

/** A key that JSON.stringify writes as it is, between quotes (printable ASCII, no `"` or `\`). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

export class ShardWriter {
  private buf: Buffer;
  private n = 0;

  /** `initial`: the buffer's first size; it doubles when a shard needs more, and is kept. */
  constructor(initial = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /**
   * The shard's JSON (a view of the writer's buffer: valid until the next call). `open`: for a shard
   * with per-test records (version 3), whose gzip members close its JSON: the last `}` is left to them.
   */
  write(meta: ShardMeta, snap: Snapshot, mapId: string | null, now: Date, open = false): Buffer {
    this.n = 0;
    this.text(`{"format":${JSON.stringify(SHARD_FORMAT)},"version":${open ? SHARD_VERSION : SHARD_VERSION_PLAIN},`
      + `"functionName":${JSON.stringify(meta.functionName)},"functionVersion":${JSON.stringify(meta.functionVersion)},`
      + `"containerId":${JSON.stringify(meta.containerId)},"startedAt":${JSON.stringify(meta.startedAt)},`
      + `"updatedAt":${JSON.stringify(now.toISOString())},"invocations":${JSON.stringify(meta.invocations)},`
      + `"mapId":${JSON.stringify(mapId)},"files":{`);
    let first = true;
    for (const key in snap.files) {
      const c = snap.files[key]!;
      if (!first) this.byte(0x2c);
      first = false;
      this.key(key);
      this.byte(0x3a);
      this.byte(0x7b);
      // With a maps document the files go without their hash (buildShard says why).
      if (mapId === null && c.hash !== undefined) {
        this.ascii('"hash":');
        this.key(c.hash);
        this.byte(0x2c);
      }
      // Each array by JSON.stringify itself (native, fast from the first flush on, when this code
      // still runs in the interpreter): small strings that die at once, no object of the shard.
      this.ascii('"s":');
      this.ascii(JSON.stringify(c.s));
      this.ascii(',"f":');
      this.ascii(JSON.stringify(c.f));
      this.ascii(',"b":');
      this.ascii(JSON.stringify(c.b));
      this.byte(0x7d);
    }
    this.text(open ? '}' : '}}');
    return this.buf.subarray(0, this.n);
  }

  private room(bytes: number): void {
    if (this.n + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + bytes) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.n);
    this.buf = grown;
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.n++] = b;
  }

  private text(s: string): void {
    this.room(Buffer.byteLength(s));
    this.n += this.buf.write(s, this.n);
  }

  /** Text known to be ASCII (JSON of numbers, the fixed names). */
  private ascii(s: string): void {
    this.room(s.length);
    this.n += this.buf.write(s, this.n, 'latin1');
  }

  private key(k: string): void {
    if (!PLAIN.test(k)) {
      this.text(JSON.stringify(k));
      return;
    }
    this.room(k.length + 2);
    this.buf[this.n++] = 0x22;
    this.n += this.buf.write(k, this.n, 'latin1');
    this.buf[this.n++] = 0x22;
  }
}
