// npm run bench [-- --quick] [-- plugin runtime combiner]
// Runs each part's benchmark in turn. Every benchmark measures its peers side by side in the same run
// and prints medians and ratios; numbers are for reading, never asserted in tests.
import { existsSync } from 'node:fs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wanted = args.filter((a) => !a.startsWith('--'));
const parts = wanted.length > 0 ? wanted : ['plugin', 'runtime', 'combiner'];

console.log(`lambda-coverage benchmarks on Node ${process.version}${quick ? ' (quick)' : ''}`);
let failed = 0;
for (const part of parts) {
  const file = new URL(`./${part}.mjs`, import.meta.url);
  if (!existsSync(file)) {
    console.error(`bench: no benchmark named "${part}" (bench/${part}.mjs)`);
    failed++;
    continue;
  }
  console.log(`\n=== ${part} ===`);
  try {
    const mod = await import(file.href);
    await mod.run({ quick });
  } catch (err) {
    failed++;
    console.error(`bench ${part} failed:`, err);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
