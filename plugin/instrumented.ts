/**
 * The light half of the instrument step: what it gives (what it takes is request.ts), its error, the lean helper and the
 * inline source map. instrument-core.ts (Babel and istanbul-lib-instrument, ~0.4 s to import) is
 * loaded only when a file must be instrumented, so a build served from the cache, and a build with
 * coverage off, never load Babel.
 */
import type { FileMaps } from '../contract/format.js';

export type CodeLoader = 'ts' | 'tsx' | 'js' | 'jsx';

export interface Instrumented {
  /** Instrumented source for esbuild (no source map comment). */
  code: string;
  /** JSON text of the source map from `code` to the original text; '' when the file was not changed. */
  map: string;
  /** The file's static maps and hash; null when the file is not counted (`istanbul ignore file`). */
  maps: FileMaps | null;
}

export interface SourceLocation {
  line: number;
  column: number;
  lineText: string;
}

/** A file that could not be instrumented, with its location when the parser knows it. */
export class InstrumentError extends Error {
  override name = 'InstrumentError';
  readonly location: SourceLocation | undefined;
  readonly file: string;
  constructor(message: string, file: string, location?: SourceLocation, options?: ErrorOptions) {
    super(message, options);
    this.file = file;
    this.location = location;
  }
}


/** Global the lean helper lives in; versioned so two lambda-coverage versions never share one. */
export const LEAN_HELPER_GLOBAL = '__lambdaCoverageLean1';

/**
 * Defined once per output file (the plugin puts it in esbuild's `banner`): finds or creates
 * `globalThis[variable][path]` as Istanbul's template does (replaced when the hash differs) with
 * counters only, `{ path, hash, s: {"0": 0}, f: {…}, b: {"0": [0, 0]} }`, built by loops, and
 * returns the accessor each file's coverage function (`cov$`) becomes: `cov$()` returns the data,
 * `cov$(0, i)` / `cov$(1, i)` / `cov$(2, i, j)` bump `s[i]` / `f[i]` / `b[i][j]` (compact-counters.ts).
 * Why this shape: a cold start pays for compiling every file's coverage function. Measured on rxjs
 * (227 files, plain bundle 7 ms to import): per-file object literals 16 ms, per-file helper code
 * 17 ms, this shared helper with a shared accessor 12 ms.
 */
export const LEAN_HELPER =
  `globalThis.${LEAN_HELPER_GLOBAL}||(globalThis.${LEAN_HELPER_GLOBAL}=function(v,p,h,ns,nf,arms){` +
  'var g=globalThis,c=g[v]||(g[v]={}),d=c[p],s={},f={},b={},i,j;if(!(d&&d.hash===h)){' +
  'for(i=0;i<ns;i++)s[i]=0;for(i=0;i<nf;i++)f[i]=0;for(i=0;i<arms.length;i++){b[i]=[];for(j=0;j<arms[i];j++)b[i].push(0)}' +
  'd=c[p]={path:p,hash:h,s:s,f:f,b:b}}' +
  'return function(k,i,j){if(k===0)d.s[i]++;else if(k===1)d.f[i]++;else if(k===2)d.b[i][j]++;return d}});';

/**
 * What esbuild gets: the code, plus an inline source map when the build writes source maps (esbuild
 * chains it, so its own map points at the original file). Without one the comment is left out:
 * esbuild would decode it for nothing.
 */
export function withInlineMap<T extends string | Uint8Array>(out: { code: T; map: string | Uint8Array }, sourcemap: boolean): T | string {
  if (!sourcemap || out.map.length === 0) return out.code;
  const map = typeof out.map === 'string' ? Buffer.from(out.map) : Buffer.from(out.map.buffer, out.map.byteOffset, out.map.byteLength);
  const code = typeof out.code === 'string' ? out.code : Buffer.from(out.code.buffer, out.code.byteOffset, out.code.byteLength).toString('utf8');
  return `${code}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${map.toString('base64')}\n`;
}
