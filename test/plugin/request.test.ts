// The per-file instrument request and the cache key derived from it (plugin/request.ts): every field
// of the spec is in the key and nothing outside the spec changes the output, so an option that changes
// a file's output cannot give a stale cache hit. Then the same through real esbuild builds.
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coverageInstrument } from '../../plugin/index.js';
import { instrumentSource } from '../../plugin/instrument-core.js';
import { canonicalJson, cacheKey, instrumentSpec, type InstrumentSpec } from '../../plugin/request.js';
import { MANIFEST_FILE } from '../../contract/format.js';
import { buildOptions, makeProject } from './helpers.js';

const CODE = `export class Widget {
  render(): string {
    return 'w';
  }
  size(n: number): number {
    return n > 0 ? n : 0;
  }
}
`;
const OTHER_CODE = CODE.replace("'w'", "'v'");

const base = instrumentSpec(
  { tools: 'lambda-coverage@1 istanbul-lib-instrument@1 @babel/core@1 node-cache-format@1', lean: true, ignoreClassMethods: [], sourceMap: false },
  { key: 'src/widget.ts', loader: 'ts', decorators: 'standard', source: CODE },
);

/** What instrumenting gives: the output, or the error (a loader that cannot parse the text). */
async function outcome(spec: InstrumentSpec, code: string, filename = '/project/src/widget.ts'): Promise<string> {
  return instrumentSource({ spec, code, filename }).then((r) => JSON.stringify(r), (e: Error) => `error: ${e.message}`);
}

interface Variant<K extends keyof InstrumentSpec> {
  /** The field's other value. */
  value: InstrumentSpec[K];
  /** The text that goes with it (the source hash's row changes the text). */
  code?: string;
  /** Whether the output must differ too, on this file; when not, why it is in the key all the same. */
  output: true | string;
}

/**
 * One other value for every field of the spec. Typed over all of InstrumentSpec's keys: a field added
 * to the spec without a row here does not type-check (npm run typecheck), and the test below also
 * checks at run time that the rows are exactly the fields instrumentSpec() sets.
 */
const variants: { [K in keyof InstrumentSpec]-?: Variant<K> } = {
  tools: { value: 'lambda-coverage@2 istanbul-lib-instrument@1 @babel/core@1 node-cache-format@1', output: 'another version of a tool may write other output; this one is the same code' },
  sourceHash: { value: hash('sha256', OTHER_CODE), code: OTHER_CODE, output: true },
  key: { value: 'src/gadget.ts', output: true },
  loader: { value: 'js', output: true },
  decorators: { value: 'legacy', output: 'a file that parses both ways may print its decorators otherwise; this one has none' },
  lean: { value: false, output: true },
  ignoreClassMethods: { value: ['render'], output: true },
  sourceMap: { value: true, output: true },
};

describe('the instrument request', () => {
  it('has a row above for every field instrumentSpec() sets', () => {
    expect(Object.keys(variants).sort()).toEqual(Object.keys(base).sort());
  });

  const baseOutcome = outcome(base, CODE);
  for (const field of Object.keys(variants) as (keyof InstrumentSpec)[]) {
    it(`changes the cache key when ${field} alone changes, and the output where it must`, async () => {
      const v = variants[field];
      const changed = { ...base, [field]: v.value } as InstrumentSpec;
      expect(cacheKey(changed)).not.toBe(cacheKey(base));
      if (v.output === true) expect(await outcome(changed, v.code ?? CODE)).not.toBe(await baseOutcome);
    });
  }

  it('gives the same output whatever the file is called on disk: nothing outside the spec is an input', async () => {
    const here = await baseOutcome;
    expect(here).not.toMatch(/^error/);
    expect(await outcome(base, CODE, '/elsewhere/checkout/deep/other-name.ts')).toBe(here);
    const mapped = { ...base, sourceMap: true };
    expect(await outcome(mapped, CODE, '/elsewhere/x.ts')).toBe(await outcome(mapped, CODE));
  });

  it('keys the same spec the same: from text or bytes, whatever order its fields were set in', () => {
    const key = cacheKey(base);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const fromBytes = instrumentSpec(
      { tools: base.tools, lean: base.lean, ignoreClassMethods: [], sourceMap: base.sourceMap },
      { key: base.key, loader: base.loader, decorators: base.decorators, source: Buffer.from(CODE) },
    );
    expect(cacheKey(fromBytes)).toBe(key);
    const reversed = Object.fromEntries(Object.entries(base).reverse()) as unknown as InstrumentSpec;
    expect(cacheKey(reversed)).toBe(key);
  });

  it('refuses a field JSON would drop or bend, rather than leave it out of the key', () => {
    expect(() => cacheKey({ ...base, extra: undefined } as InstrumentSpec)).toThrow(/cannot be keyed/);
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/cannot be keyed/);
    expect(() => canonicalJson({ a: new Map() })).toThrow(/cannot be keyed/);
    expect(canonicalJson({ b: [1, 'x', null, true], a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":[1,"x",null,true]}');
  });
});

describe('a warm cache', () => {
  let project: ReturnType<typeof makeProject>;
  let cache: string;
  beforeAll(async () => {
    project = makeProject();
    cache = join(project.dir, 'node_modules/.cache/lambda-coverage');
    await esbuild.build(buildOptions(project.dir, 'prime', [coverageInstrument({ enabled: true, cache, summary: false })]));
  });
  afterAll(() => project.cleanup());

  // Each option that changes a file's output, changed alone on a cache the default build filled: the
  // result must be the same bytes as that build without any cache.
  const changes: [string, Parameters<typeof coverageInstrument>[0], Partial<esbuild.BuildOptions>][] = [
    ['lean: false', { lean: false }, {}],
    ['ignoreClassMethods', { ignoreClassMethods: ['increment'] }, {}],
    ['decorators forced', { decorators: 'legacy' }, {}],
    ['no source map in the build', {}, { sourcemap: false }],
  ];
  for (const [name, options, build] of changes) {
    it(`serves no stale entry when only ${name} changes`, async () => {
      const out = (kind: string) => `${name.replace(/\W+/g, '-')}-${kind}`;
      await esbuild.build({ ...buildOptions(project.dir, out('cached'), [coverageInstrument({ enabled: true, cache, summary: false, ...options })]), ...build });
      await esbuild.build({ ...buildOptions(project.dir, out('fresh'), [coverageInstrument({ enabled: true, cache: false, summary: false, ...options })]), ...build });
      const read = (kind: string, file: string) => readFileSync(join(project.dir, out(kind), file), 'utf8');
      expect(read('cached', 'handler.mjs')).toBe(read('fresh', 'handler.mjs'));
      const files = (kind: string) => (JSON.parse(read(kind, MANIFEST_FILE)) as { files: unknown }).files;
      expect(files('cached')).toEqual(files('fresh'));
    });
  }
});
