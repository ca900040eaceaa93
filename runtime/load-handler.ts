/**
 * Loads a Lambda handler string the way the Node.js managed runtime does, so the layer's shim can sit
 * in front of it: `file.handler`, `dir/sub/file.handler`, nested `file.a.b`; an extensionless or `.js`
 * CommonJS file, `.js` under `"type": "module"`, `.mjs`, `.cjs`, then Node resolution from the task root.
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve, basename } from 'node:path';
import { pathToFileURL } from 'node:url';

import { fs } from './fs.js';

const { existsSync, readFileSync } = fs;

/** Error names match the runtime's, so the init error a user sees reads the same. */
export class HandlerLoadError extends Error {
  constructor(name: 'Runtime.MalformedHandlerName' | 'Runtime.HandlerNotFound' | 'Runtime.ImportModuleError' | 'Runtime.UserCodeSyntaxError', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

export interface ParsedHandler { moduleDir: string; module: string; path: string[] }

/** Pure: `dir/sub/file.a.b` -> module dir `dir/sub/`, module `file`, property path [a, b]. */
export function parseHandlerString(handler: string): ParsedHandler {
  if (handler.includes('..')) {
    throw new HandlerLoadError('Runtime.MalformedHandlerName', `'${handler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`);
  }
  const base = basename(handler);
  const moduleDir = handler.slice(0, handler.length - base.length);
  const dot = base.indexOf('.');
  if (dot <= 0 || dot === base.length - 1) throw new HandlerLoadError('Runtime.MalformedHandlerName', `Bad handler '${handler}': expected file.export`);
  return { moduleDir, module: base.slice(0, dot), path: base.slice(dot + 1).split('.') };
}

function typeModuleFor(file: string): boolean {
  for (let dir = dirname(file), i = 0; i < 64; i++) {
    if (dir.endsWith('/node_modules')) return false;
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try { return (JSON.parse(readFileSync(pj, 'utf8')) as { type?: string }).type === 'module'; } catch { return false; }
    }
    const up = dirname(dir);
    if (up === dir) return false;
    dir = up;
  }
  return false;
}

async function loadModule(taskRoot: string, p: ParsedHandler): Promise<{ exports: unknown; file: string | undefined }> {
  const base = resolve(taskRoot, p.moduleDir, p.module);
  const req = createRequire(join(taskRoot, 'index.js'));
  if (existsSync(base)) return { exports: req(base), file: base };
  const js = `${base}.js`;
  const esm = existsSync(js) && typeModuleFor(js);
  if (existsSync(js) && !esm) return { exports: req(js), file: js };
  if (esm) return { exports: await import(pathToFileURL(js).href), file: js };
  if (existsSync(`${base}.mjs`)) return { exports: await import(pathToFileURL(`${base}.mjs`).href), file: `${base}.mjs` };
  if (existsSync(`${base}.cjs`)) return { exports: req(`${base}.cjs`), file: `${base}.cjs` };
  const resolved = createRequire(join(taskRoot, p.moduleDir || '.', 'index.js')).resolve(p.module, { paths: [taskRoot, resolve(taskRoot, p.moduleDir)] });
  return { exports: req(resolved), file: resolved };
}

export async function loadHandler(taskRoot: string, handler: string): Promise<{ handler: (...a: any[]) => any; file: string | undefined }> {
  const parsed = parseHandlerString(handler);
  let loaded: { exports: unknown; file: string | undefined };
  try {
    loaded = await loadModule(taskRoot, parsed);
  } catch (err) {
    if (err instanceof SyntaxError) throw new HandlerLoadError('Runtime.UserCodeSyntaxError', String(err), { cause: err });
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND') throw new HandlerLoadError('Runtime.ImportModuleError', `Error: Cannot find module '${parsed.module}'`, { cause: err });
    throw err;
  }
  let fn: unknown = loaded.exports;
  for (const k of parsed.path) fn = fn === null || fn === undefined ? undefined : (fn as Record<string, unknown>)[k];
  if (fn === undefined || fn === null) throw new HandlerLoadError('Runtime.HandlerNotFound', `${handler} is undefined or not exported`);
  if (typeof fn !== 'function') throw new HandlerLoadError('Runtime.HandlerNotFound', `${handler} is not a function`);
  return { handler: fn as (...a: any[]) => any, file: loaded.file };
}
