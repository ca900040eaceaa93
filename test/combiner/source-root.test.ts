// The source finder reads only regular files inside --source-root once symlinks are resolved: a
// coverage path is untrusted, and what the HTML report shows is published (--upload, CI artifacts).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combine } from '../../combiner/combine.js';
import { APP, instrument, invoke, runContainer, toShard, writeShardFiles } from './helpers.js';

const CANARY = `CANARY-${process.pid}-d41d8cd98f00b204`;
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lc-source-root-'));
  writeShardFiles(join(work, 'shards'), 'coverage/', toShard(runContainer(instrument(), (m) => invoke(m, 1)), { containerId: 'c1' }));
  mkdirSync(join(work, 'outside/src'), { recursive: true });
  writeFileSync(join(work, 'outside/secret.js'), `// ${CANARY}\n`);
  writeFileSync(join(work, 'outside/src/calc.js'), `// ${CANARY}\n`);
  writeFileSync(join(work, 'outside/src/greet.js'), `// ${CANARY}\n`);
});

afterAll(() => { rmSync(work, { recursive: true, force: true }); });

async function report(root: string) {
  const out = join(work, `out-${root.replaceAll('/', '_')}`);
  const r = await combine({ dirs: [join(work, 'shards')], out, sourceRoot: join(work, root), reporters: ['html'], threads: 0, cwd: work });
  return { r, page: (f: string) => readFileSync(join(out, `${f}.html`), 'utf8') };
}

describe('--source-root confines what the HTML report reads', () => {
  it('a file that is a symlink out of the root is not shown; a symlink that stays inside is', async () => {
    mkdirSync(join(work, 'root1/src'), { recursive: true });
    mkdirSync(join(work, 'root1/real'), { recursive: true });
    symlinkSync(join(work, 'outside/secret.js'), join(work, 'root1/src/calc.js'));
    writeFileSync(join(work, 'root1/real/greet.js'), readFileSync(join(APP, 'src/greet.js')));
    symlinkSync('../real/greet.js', join(work, 'root1/src/greet.js'));
    const { r, page } = await report('root1');
    expect(page('calc.js')).not.toContain(CANARY);
    expect(page('calc.js')).toContain('Source not shown');
    expect(page('greet.js')).toContain('greet');
    expect(r.summary.missingSources).toEqual(['src/calc.js']);
  });

  it('a directory that is a symlink out of the root is not followed', async () => {
    mkdirSync(join(work, 'root2'), { recursive: true });
    symlinkSync(join(work, 'outside/src'), join(work, 'root2/src'));
    const { r, page } = await report('root2');
    for (const f of ['calc.js', 'greet.js']) expect(page(f)).not.toContain(CANARY);
    expect(r.summary.missingSources).toEqual(['src/calc.js', 'src/greet.js']);
  });

  it('only regular files: a FIFO or a device under the root is never opened (it would block or never end)', async () => {
    mkdirSync(join(work, 'root3/src'), { recursive: true });
    symlinkSync('/dev/zero', join(work, 'root3/src/calc.js'));
    mkdirSync(join(work, 'root3/src/greet.js'));
    const { r } = await report('root3');
    expect(r.summary.missingSources).toEqual(['src/calc.js', 'src/greet.js']);
  });
});
