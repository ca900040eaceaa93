#!/usr/bin/env node
// The `lambda-coverage` bin: a thin shell over main() (combiner/main.ts), which tests call in-process.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
