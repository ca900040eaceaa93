// Headless Debian Chromium, used by the tests (read the HTML report's DOM) and by the README screenshot.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags for a closed network: no background traffic, no sandbox as root, a throwaway profile. */
function flags(profile) {
  return [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--allow-file-access-from-files', `--user-data-dir=${profile}`,
  ];
}

export function chromiumAvailable() {
  return existsSync(CHROMIUM);
}

async function withProfile(fn) {
  const profile = mkdtempSync(join(tmpdir(), 'lc-chromium-'));
  try {
    return await fn(profile);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The DOM of a local HTML file after its scripts ran. */
export function dumpDom(htmlFile) {
  return withProfile(async (profile) => {
    const { stdout } = await run(CHROMIUM, [...flags(profile), '--dump-dom', pathToFileURL(htmlFile).href], {
      timeout: 60_000, maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  });
}

export function screenshot(htmlFile, pngFile, { width = 1280, height = 860 } = {}) {
  return withProfile((profile) =>
    run(CHROMIUM, [...flags(profile), `--screenshot=${pngFile}`, `--window-size=${width},${height}`,
      '--hide-scrollbars', pathToFileURL(htmlFile).href], { timeout: 60_000 }));
}
