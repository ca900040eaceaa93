// The package as a user gets it after `npm run build` (npm test's pretest): every subpath export
// resolves by name to built JavaScript with its declarations, and the manifest says what it needs.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  name: string;
  engines: { node: string };
  exports: Record<string, string | { types: string; default: string }>;
  bin: Record<string, string>;
  allowScripts?: Record<string, boolean | string>;
};

describe('the lambda-coverage package', () => {
  it('imports itself by name, and every export has built JavaScript and declarations', async () => {
    const subpaths = Object.entries(pkg.exports).filter(([, v]) => typeof v !== 'string');
    expect(subpaths.map(([k]) => k).sort()).toEqual(['./combiner', './esbuild', './runtime']);
    for (const [subpath, target] of subpaths) {
      const { types, default: js } = target as { types: string; default: string };
      expect(existsSync(new URL(types, root)), `${subpath} types ${types}`).toBe(true);
      const mod = (await import(`${pkg.name}/${subpath.slice(2)}`)) as Record<string, unknown>;
      expect(Object.keys(mod).length, `${subpath} exports`).toBeGreaterThan(0);
      expect(import.meta.resolve(`${pkg.name}/${subpath.slice(2)}`)).toBe(new URL(js, root).href);
    }
    const esbuildPart = (await import('lambda-coverage/esbuild')) as Record<string, unknown>;
    expect(typeof esbuildPart.coverageInstrument).toBe('function');
    expect(typeof esbuildPart.instrument).toBe('function');
  });

  it('reports the layer version of package.json', async () => {
    const { LAYER_VERSION } = await import('../../runtime/version.js');
    expect(LAYER_VERSION).toBe((pkg as unknown as { version: string }).version);
  });

  it('has an executable bin and asks for Node 22 or later', () => {
    for (const file of Object.values(pkg.bin)) {
      expect(() => accessSync(fileURLToPath(new URL(file, root)), constants.X_OK)).not.toThrow();
    }
    const min = /^>=\s*(\d+)\./.exec(pkg.engines.node);
    expect(Number(min?.[1])).toBeGreaterThanOrEqual(22);
  });

  it('lists in allowScripts every dependency of the lockfile that has an install script', () => {
    const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean; name?: string }>;
    };
    // An npm alias (node_modules/aws-lambda-ric-4) is the package it names.
    const withScripts = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript)
      .map(([path, p]) => p.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts.length).toBeGreaterThan(0);
    for (const name of withScripts) expect(pkg.allowScripts?.[name], `allowScripts["${name}"]`).toBeDefined();
  });
});
