/**
 * Builds the Lambda layer: the runtime only (no Babel, no istanbul, no AWS SDK: the managed Node.js
 * runtimes ship SDK v3), the exec wrapper, the preload and the external extension, laid out as Lambda
 * mounts a layer under /opt:
 *
 *   lambda-coverage                                   AWS_LAMBDA_EXEC_WRAPPER=/opt/lambda-coverage
 *   extensions/lambda-coverage                        external extension (SHUTDOWN, INVOKE when deferred)
 *   nodejs/node_modules/lambda-coverage/package.json                         (./runtime → layer/runtime.mjs)
 *   nodejs/node_modules/lambda-coverage/layer/{shim.mjs,runtime.mjs,*.mjs,preload.cjs}   (bundled by npm run build)
 *
 * Not loaded inside Lambda. The zip is written here (deflate from node:zlib, CRC-32, Unix modes) so
 * no `zip` program is needed.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';

export interface LayerFile { path: string; data: Buffer; mode: number }

const PKG = 'nodejs/node_modules/lambda-coverage';
/** The lambda-coverage package this file belongs to (from dist/runtime or, in tests, runtime/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'lambda-coverage') return dir;
    } catch { /* not here */ }
    dir = dirname(dir);
  }
  throw new Error('buildLayer: cannot find the lambda-coverage package root');
}

/** The files of the layer, in zip order. Needs `npm run build` to have produced dist/runtime. */
export function layerFiles(root = packageRoot()): LayerFile[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const bundled = join(root, 'dist', 'layer');
  let names: string[];
  try {
    names = readdirSync(bundled).filter((f) => f.endsWith('.mjs')).sort();
  } catch (cause) {
    throw new Error(`buildLayer: ${bundled} is missing; run \`npm run build\` first`, { cause });
  }
  const files: LayerFile[] = [
    { path: 'lambda-coverage', data: readFileSync(join(root, 'layer', 'lambda-coverage')), mode: 0o755 },
    { path: 'extensions/lambda-coverage', data: readFileSync(join(root, 'layer', 'extensions', 'lambda-coverage')), mode: 0o755 },
    {
      path: `${PKG}/package.json`, mode: 0o644,
      data: Buffer.from(JSON.stringify({
        name: 'lambda-coverage', version: pkg.version, type: 'module', sideEffects: false,
        exports: { './runtime': './layer/runtime.mjs', './package.json': './package.json' },
      }, null, 2) + '\n'),
    },
  ];
  // The shim and lambda-coverage/runtime as `npm run build` bundled them (each one module, sharing the
  // chunks of their lazy imports): not dist/runtime's modules, which would load one by one at cold start.
  for (const n of names) files.push({ path: `${PKG}/layer/${n}`, data: readFileSync(join(bundled, n)), mode: 0o644 });
  files.push({ path: `${PKG}/layer/preload.cjs`, data: readFileSync(join(root, 'layer', 'preload.cjs')), mode: 0o644 });
  return files;
}

/** Writes the layer as a directory tree (what Lambda mounts at /opt). */
export function writeLayerTree(dir: string, files = layerFiles()): void {
  for (const f of files) {
    const target = join(dir, f.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.data);
    chmodSync(target, f.mode);
  }
}

/** Minimal zip (PKZIP 2.0, deflate), with Unix permissions so the wrapper and extension stay executable. */
export function zipFiles(files: LayerFile[], date = new Date(Date.UTC(2026, 0, 1))): Buffer {
  const dosTime = (date.getUTCHours() << 11) | (date.getUTCMinutes() << 5) | (date.getUTCSeconds() >> 1);
  const dosDate = ((date.getUTCFullYear() - 1980) << 9) | ((date.getUTCMonth() + 1) << 5) | date.getUTCDate();
  const local: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const dirs = new Set<string>();
  const entries: LayerFile[] = [];
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = `${parts.slice(0, i).join('/')}/`;
      if (!dirs.has(d)) { dirs.add(d); entries.push({ path: d, data: Buffer.alloc(0), mode: 0o40755 }); }
    }
    entries.push({ ...f, mode: 0o100000 | f.mode });
  }
  for (const e of entries) {
    const name = Buffer.from(e.path, 'utf8');
    const isDir = e.path.endsWith('/');
    const packed = isDir ? e.data : deflateRawSync(e.data, { level: 9 });
    const method = isDir ? 0 : 8;
    const crc = isDir ? 0 : crc32(e.data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4); lh.writeUInt16LE(0x0800, 6); lh.writeUInt16LE(method, 8);
    lh.writeUInt16LE(dosTime, 10); lh.writeUInt16LE(dosDate, 12); lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(packed.length, 18); lh.writeUInt32LE(e.data.length, 22); lh.writeUInt16LE(name.length, 26); lh.writeUInt16LE(0, 28);
    local.push(lh, name, packed);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE((3 << 8) | 20, 4); ch.writeUInt16LE(20, 6); ch.writeUInt16LE(0x0800, 8);
    ch.writeUInt16LE(method, 10); ch.writeUInt16LE(dosTime, 12); ch.writeUInt16LE(dosDate, 14); ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(packed.length, 20); ch.writeUInt32LE(e.data.length, 24); ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(((e.mode & 0xffff) << 16 | (isDir ? 0x10 : 0)) >>> 0, 38); ch.writeUInt32LE(offset, 42);
    central.push(ch, name);
    offset += lh.length + name.length + packed.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(entries.length, 8); end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...local, cd, end]);
}

export interface BuildLayerResult { out: string; bytes: number; files: string[] }

/**
 * `npx lambda-coverage layer --out dist/lambda-coverage-layer.zip`: writes the layer zip and returns
 * its size; `print` (default console.log) receives one line saying where and how big.
 */
export function buildLayer({ out, print = console.log }: { out: string; print?: (line: string) => void }): BuildLayerResult {
  if (typeof out !== 'string' || out === '') throw new Error('buildLayer: `out` (the zip file to write) is required, e.g. dist/lambda-coverage-layer.zip');
  const files = layerFiles();
  const zip = zipFiles(files);
  const target = resolve(out);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, zip);
  print(`lambda-coverage layer: ${target} (${(zip.length / 1024).toFixed(1)} KB, ${files.length} files; runtime only, uses the Lambda runtime's AWS SDK)`);
  return { out: target, bytes: zip.length, files: files.map((f) => f.path) };
}
