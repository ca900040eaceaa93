#!/usr/bin/env node
// The `lambda-coverage` bin: a thin shell over main() (combiner/main.ts), which tests call in-process.
// Exit codes are 0, 1 (a threshold) and 2 (anything else): an error that escapes main() (an event
// emitter's, say) must not end the process with Node's default 1, which CI would read as a threshold.
import { main } from './main.js';

const EXIT_ERROR = 2;
const fatal = (e: unknown) => {
  process.stderr.write(`lambda-coverage: error: ${(e as Error)?.message ?? String(e)}\n`);
  process.exit(EXIT_ERROR);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

process.exitCode = await main(process.argv.slice(2));
