// Versions of the tools whose output the cache stores and the manifest names.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Our own version: the package.json above this file (plugin/ in sources, dist/plugin/ when built). */
function ownVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'lambda-coverage' && pkg.version) return pkg.version;
    } catch {
      // not there
    }
  }
  return 'unknown';
}

function versionOf(pkg: string): string {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

let memo: string | undefined;

/** `lambda-coverage@x istanbul-lib-instrument@y @babel/core@z` */
export function generatorName(): string {
  memo ??= `lambda-coverage@${ownVersion()} istanbul-lib-instrument@${versionOf('istanbul-lib-instrument')} @babel/core@${versionOf('@babel/core')}`;
  return memo;
}

/** Part of every cache key: a new version of any tool invalidates the cache. */
export function toolVersions(): string {
  return `${generatorName()} node-cache-format@7`;
}
