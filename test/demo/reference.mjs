// Replays examples/basic/events.mjs in ONE process against the same instrumented bundles the demo ran
// in Lambda containers, and prints the resulting Istanbul counters as JSON.
// Each container is a separate module instance (its own in-memory state) of the same bundle; all of
// them count into this process's one globalThis.__coverage__, as Istanbul does for repeated loads.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { EVENTS, FUNCTIONS } from '../../examples/basic/events.mjs';

const functionsDir = process.argv[2];
const modules = new Map();
for (const fn of FUNCTIONS) {
  for (let i = 0; i < fn.containers; i++) {
    const url = `${pathToFileURL(join(functionsDir, fn.name, 'index.mjs')).href}?container=${i}`;
    modules.set(`${fn.name}#${i}`, await import(url));
  }
}
for (const [fn, index, event] of EVENTS) {
  try {
    await modules.get(`${fn}#${index}`).handler(event);
  } catch {
    // Failing events fail here as in Lambda; their coverage still counts.
  }
}
const out = {};
for (const [path, c] of Object.entries(globalThis.__coverage__)) out[path] = { hash: c.hash, s: c.s, f: c.f, b: c.b };
process.stdout.write(JSON.stringify(out));
