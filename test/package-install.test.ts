// The package as a new user gets it: `npm pack` of the built repository (npm test's pretest builds it),
// installed with npm into a fresh TypeScript project outside the repository, next to the user's own
// typescript, esbuild and @types/node. Checks what that brings in (no aws-lambda-ric, nothing with an
// install script or a native build, the size the README states), then uses it as a user would: the
// three exports import, the bin answers --help, a strict tsc (no skipLibCheck) accepts the shipped
// declarations, and an esbuild build with the plugin runs. The npm cache is warm after `npm ci`
// (same versions as the lockfile), so the install takes seconds; if npm can reach neither the cache
// nor the registry, the tests skip with that message.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';

const repo = fileURLToPath(new URL('..', import.meta.url));
const repoLock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as Lockfile;
const pinned = (name: string): string => `${name}@${repoLock.packages[`node_modules/${name}`]!.version}`;
/** What the user's project has of its own (the versions of this repository's lockfile: cached). */
const USER_DEPS = ['typescript', 'esbuild', '@types/node'];
const NATIVE_SCRIPTS = ['preinstall', 'install', 'postinstall'];
const NETWORK = /ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|request to .* failed/;

interface LockEntry {
  name?: string; version?: string; hasInstallScript?: boolean;
  dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>;
}
interface Lockfile { packages: Record<string, LockEntry> }
interface Manifest { name: string; scripts?: Record<string, string>; gypfile?: boolean; dependencies?: Record<string, string> }

let work: string;
let project: string;
let unreachable: string | undefined;
let lock: Lockfile;
let ours: Set<string>;

/** npm and node as the user runs them: the Node running the tests first on PATH, none of the repo's npm_* state. */
function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}, timeout = 60_000): SpawnSyncReturns<string> {
  const base = Object.fromEntries(Object.entries(process.env)
    .filter(([k]) => !/^(npm_(package|lifecycle|command)|npm_config_local_prefix$|INIT_CWD$)/.test(k)));
  return spawnSync(cmd, args, {
    cwd, encoding: 'utf8', timeout,
    env: { ...base, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, ...env },
  });
}
const output = (r: SpawnSyncReturns<string>): string => `${r.error?.message ?? ''}\n${r.stdout}\n${r.stderr}`.trim();

/** The lockfile path npm resolves `name` to from the package at `from` (Node's lookup, upwards). */
function resolveIn(from: string, name: string): string | undefined {
  for (let at = from; ; at = at.slice(0, Math.max(0, at.lastIndexOf('/node_modules/')))) {
    const candidate = `${at ? `${at}/` : ''}node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (!at) return undefined;
  }
}
/** Every package `start` brings in, itself included (dependencies of dependencies; peers are the user's own). */
function closure(start: string): Set<string> {
  const seen = new Set<string>();
  const todo = [start];
  for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
    if (seen.has(p)) continue;
    seen.add(p);
    const e = lock.packages[p]!;
    for (const dep of Object.keys({ ...e.dependencies, ...e.optionalDependencies })) {
      const r = resolveIn(p, dep);
      if (r !== undefined) todo.push(r);
    }
  }
  return seen;
}
/** Bytes as `du -sb` counts them (files and directories), without nested node_modules (own packages). */
function bytes(dir: string, top = true): number {
  let sum = lstatSync(dir).size;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (top && e.name === 'node_modules') continue;
    sum += e.isDirectory() ? bytes(join(dir, e.name), false) : lstatSync(join(dir, e.name)).size;
  }
  return sum;
}
function filesOf(dir: string, top = true, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (top && e.name === 'node_modules') continue;
    if (e.isDirectory()) filesOf(join(dir, e.name), false, out);
    else out.push(join(dir, e.name));
  }
  return out;
}
const mb = (n: number): string => (n / 1e6).toFixed(1);
function skipIfUnreachable(ctx: TestContext): void {
  if (unreachable !== undefined) ctx.skip(unreachable);
}

beforeAll(() => {
  if (!existsSync(join(repo, 'dist', 'combiner', 'cli.js'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  work = mkdtempSync(join(tmpdir(), 'lc-install-'));
  const pack = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], repo);
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${output(pack)}`);
  const tarball = join(work, (JSON.parse(pack.stdout) as Array<{ filename: string }>)[0]!.filename);

  project = join(work, 'project');
  mkdirSync(join(project, 'src'), { recursive: true });
  writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'new-user-project', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'] },
    include: ['src', 'build.ts'],
  }));
  writeFileSync(join(project, 'src', 'handler.ts'), [
    "import { withCoverage } from 'lambda-coverage/runtime';",
    '',
    'export const handler = withCoverage(async (event: { n: number }) => ({ statusCode: 200, body: String(event.n * 2) }));',
    '',
  ].join('\n'));
  writeFileSync(join(project, 'build.ts'), [
    "import { build } from 'esbuild';",
    "import { coverageInstrument } from 'lambda-coverage/esbuild';",
    "import { combine, type CombineResult } from 'lambda-coverage/combiner';",
    '',
    "await build({ entryPoints: ['src/handler.ts'], outfile: 'dist/handler.mjs', bundle: true, platform: 'node', format: 'esm',",
    "  external: ['@aws-sdk/*'], logLevel: 'warning', plugins: [coverageInstrument()] });",
    'export type Combined = CombineResult;',
    'export const combineFn: typeof combine = combine;',
    '',
  ].join('\n'));

  // --ignore-scripts: the assertions below read whether anything has an install script; running one
  // would only turn a regression into minutes of native compiling before the failure.
  const install = run('npm', ['install', '--save-dev', tarball, ...USER_DEPS.map(pinned),
    '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], project);
  if (install.status !== 0) {
    if (NETWORK.test(output(install))) {
      unreachable = `SKIPPED package-install tests: npm reached neither its cache nor the registry (${NETWORK.exec(output(install))![0]})`;
      console.warn(unreachable);
      return;
    }
    throw new Error(`npm install of the packed tarball failed:\n${output(install)}`);
  }
  lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8')) as Lockfile;
  ours = closure('node_modules/lambda-coverage');
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm i -D lambda-coverage in a fresh TypeScript project', () => {
  it('brings no aws-lambda-ric, nothing with an install script or a native build, and none of the user’s own tools', (ctx) => {
    skipIfUnreachable(ctx);
    const names = (paths: Iterable<string>): string[] => [...paths].map((p) => lock.packages[p]!.name ?? p.slice(p.lastIndexOf('node_modules/') + 13));
    expect(names(Object.keys(lock.packages).filter(Boolean))).not.toContain('aws-lambda-ric');
    expect(names(ours).filter((n) => USER_DEPS.includes(n) || n.startsWith('@esbuild/'))).toEqual([]);

    const flagged: string[] = [];
    for (const p of ours) {
      const dir = join(project, p);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
      if (lock.packages[p]!.hasInstallScript) flagged.push(`${manifest.name}: hasInstallScript in the lockfile`);
      for (const s of NATIVE_SCRIPTS) if (manifest.scripts?.[s]) flagged.push(`${manifest.name}: "${s}": ${manifest.scripts[s]}`);
      if (manifest.gypfile || existsSync(join(dir, 'binding.gyp'))) flagged.push(`${manifest.name}: binding.gyp (node-gyp build)`);
      for (const f of filesOf(dir)) if (f.endsWith('.node')) flagged.push(`${manifest.name}: native addon ${f.slice(dir.length + 1)}`);
    }
    expect(flagged).toEqual([]);

    const ls = run('npm', ['ls', '--all', '--json'], project);
    expect(ls.status, output(ls)).toBe(0);
    expect(ls.stdout).not.toContain('"aws-lambda-ric"');
  });

  it('adds what the README says it adds', (ctx) => {
    skipIfUnreachable(ctx);
    const size = (set: Iterable<string>): number => [...set].reduce((s, p) => s + bytes(join(project, p)), 0);
    const total = size(ours);
    const root = lock.packages['node_modules/lambda-coverage']!;
    const parts = Object.keys(root.dependencies ?? {}).map((dep) => {
      const own = closure(resolveIn('node_modules/lambda-coverage', dep)!);
      return `${dep} ${own.size} packages ${mb(size(own))} MB`;
    });
    console.log(`lambda-coverage adds ${mb(total)} MB and ${ours.size} packages (itself ${mb(bytes(join(project, 'node_modules/lambda-coverage')))} MB); with their own dependencies: ${parts.join(', ')}`);

    const stated = /adds about (\d+) MB and (\d+) packages/.exec(readFileSync(join(repo, 'README.md'), 'utf8'));
    expect(stated, 'README: "adds about N MB and M packages"').not.toBeNull();
    // Within a fifth: a patch release of the AWS SDK moves these a little; a new heavy dependency does not.
    expect(total / 1e6).toBeGreaterThan(Number(stated![1]) * 0.8);
    expect(total / 1e6).toBeLessThan(Number(stated![1]) * 1.2);
    expect(ours.size).toBeGreaterThan(Number(stated![2]) * 0.8);
    expect(ours.size).toBeLessThan(Number(stated![2]) * 1.2);
  });

  it('has no install script of its own and every dependency it imports resolves inside the project', (ctx) => {
    skipIfUnreachable(ctx);
    const installed = join(project, 'node_modules', 'lambda-coverage');
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Manifest & Record<string, unknown>;
    expect(NATIVE_SCRIPTS.filter((s) => manifest.scripts?.[s])).toEqual([]);
    expect(manifest.optionalDependencies).toBeUndefined();
    const req = createRequire(join(installed, 'package.json'));
    for (const dep of Object.keys(manifest.dependencies ?? {}).filter((d) => !d.startsWith('@types/'))) {
      expect(req.resolve(`${dep}/package.json`).startsWith(join(project, 'node_modules')), dep).toBe(true);
    }
  });

  it('imports its three exports and runs its bin', (ctx) => {
    skipIfUnreachable(ctx);
    const script = `
      const parts = { esbuild: ['coverageInstrument', 'instrument'], runtime: ['withCoverage', 'flushCoverage', 'coverageHealth'], combiner: ['combine', 'handler', 'createHandler'] };
      for (const [part, names] of Object.entries(parts)) {
        const url = import.meta.resolve('lambda-coverage/' + part);
        const mod = await import(url);
        console.log(part, url, names.map((n) => n + ':' + typeof mod[n]).join(' '));
      }`;
    const imported = run(process.execPath, ['--input-type=module', '-e', script], project);
    expect(imported.status, output(imported)).toBe(0);
    const lines = imported.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      const [part, url, ...types] = line.split(' ');
      expect(url, part).toContain('/project/node_modules/lambda-coverage/dist/');
      for (const t of types) expect(t, part).toMatch(/:function$/);
    }

    const bin = join(project, 'node_modules', '.bin', 'lambda-coverage');
    const help = run(bin, ['--help'], project);
    expect(help.status, output(help)).toBe(0);
    expect(help.stdout).toMatch(/^Usage: lambda-coverage <command>/);
    expect(help.stdout).toContain('combine');
    const combineHelp = run(bin, ['combine', '--help'], project);
    expect(combineHelp.status, output(combineHelp)).toBe(0);
    expect(combineHelp.stdout).toContain('--bucket');
  });

  it('type-checks against the shipped declarations under strict tsc, then builds with the plugin and runs the bundle', (ctx) => {
    skipIfUnreachable(ctx);
    const tsc = run(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], project);
    expect(tsc.status, output(tsc)).toBe(0);

    const built = run(process.execPath, ['--experimental-strip-types', '--no-warnings', 'build.ts'], project, { COVERAGE_ENABLED: '1' });
    expect(built.status, output(built)).toBe(0);
    expect(existsSync(join(project, 'dist', 'lambda-coverage-manifest.json'))).toBe(true);
    const ran = run(process.execPath, ['--input-type=module', '-e', `
      const { handler } = await import('./dist/handler.mjs');
      const result = await handler({ n: 21 }, { getRemainingTimeInMillis: () => 3000 });
      console.log(JSON.stringify({ result, files: Object.keys(globalThis.__coverage__ ?? {}) }));`], project);
    expect(ran.status, output(ran)).toBe(0);
    const { result, files } = JSON.parse(ran.stdout) as { result: unknown; files: string[] };
    expect(result).toEqual({ statusCode: 200, body: '42' });
    expect(files).toEqual(['src/handler.ts']);
  });
});
