// npm run screenshot — runs the demo and photographs its HTML report for the README (docs/report.png),
// with Debian's headless Chromium.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDemo } from './demo.mjs';
import { chromiumAvailable, screenshot } from './local/chromium.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!chromiumAvailable()) {
  console.error('screenshot: /usr/bin/chromium not found (apt-get install chromium)');
  process.exitCode = 2;
} else {
  const { out } = await runDemo({ log: () => undefined });
  await screenshot(join(out, 'index.html'), join(root, 'docs/report.png'), { width: 1100, height: 560 });
  await screenshot(join(out, 'lib/orders.ts.html'), join(root, 'docs/report-file.png'), { width: 1100, height: 900 });
  console.log('wrote docs/report.png and docs/report-file.png');
}
