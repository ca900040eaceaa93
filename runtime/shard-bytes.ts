/**
 * A shard's JSON written as bytes into one buffer the collector keeps between flushes: the same bytes
 * as `JSON.stringify(buildShard(meta, snap, mapId, now))`, without the shard object, the 50 KB string
 * or the Buffer made of it at every flush. That garbage (~150 KB a flush for 321 files, with the
 * snapshot's, measured) was what made V8 scavenge during flushes and keep the function's young
 * generation grown. Pure.
 */
import { SHARD_FORMAT, SHARD_VERSION, SHARD_VERSION_PLAIN } from '../contract/format.js';
import type { ShardMeta, Snapshot } from './snapshot.js';

/** A key that JSON.stringify writes as it is, between quotes (printable ASCII, no `"` or `\`). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** Longest text of one number in JSON (-1.7976931348623157e+308). */
const NUMBER_MAX = 24;

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
        this.text('"hash":');
        this.key(c.hash);
        this.byte(0x2c);
      }
      this.text('"s":');
      this.numbers(c.s);
      this.text(',"f":');
      this.numbers(c.f);
      this.text(',"b":[');
      for (let i = 0; i < c.b.length; i++) {
        if (i > 0) this.byte(0x2c);
        this.numbers(c.b[i]!);
      }
      this.byte(0x5d);
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

  /** `[1,0,…]` as JSON.stringify writes it: digits for the counts (small integers), its rule for the rest. */
  private numbers(xs: readonly number[]): void {
    this.room(2 + xs.length * (NUMBER_MAX + 1));
    const buf = this.buf;
    let n = this.n;
    buf[n++] = 0x5b;
    for (let i = 0; i < xs.length; i++) {
      if (i > 0) buf[n++] = 0x2c;
      let v = xs[i]!;
      if (Number.isInteger(v) && v >= 0 && v < 1e15) {
        if (v === 0) { buf[n++] = 0x30; continue; }
        let digits = 0;
        for (let t = v; t >= 1; t = Math.floor(t / 10)) digits++;
        for (let d = digits - 1; d >= 0; d--) { buf[n + d] = 0x30 + (v % 10); v = Math.floor(v / 10); }
        n += digits;
      } else {
        n += buf.write(JSON.stringify(v), n, 'latin1');
      }
    }
    buf[n++] = 0x5d;
    this.n = n;
  }
}
