/**
 * The `lambda-coverage` command line, as a function of argv (cli.ts is the process shell around it): a
 * thin dispatcher over the command modules in commands/, each of which declares its own options.
 * Exit codes: 0 ok, 1 coverage below a threshold, 2 usage or fatal error.
 */
import { createRequire } from 'node:module';
import { affectedCommand } from './commands/affected.js';
import { combineCommand } from './commands/combine.js';
import { layerCommand } from './commands/layer.js';
import { EXIT_ERROR, EXIT_OK, UsageError, type CliIO, type Command } from './commands/io.js';

export { EXIT_OK, EXIT_THRESHOLD, EXIT_ERROR, type CliIO } from './commands/io.js';
export { parseCombineArgs } from './commands/combine.js';

/** Subcommands: `combine` and `affected` (this part) and `layer` (the runtime's layer builder). */
const COMMANDS: readonly Command[] = [combineCommand, affectedCommand, layerCommand];

const TOP_HELP = `Usage: lambda-coverage <command> [options]

Commands
${COMMANDS.map((c) => `  ${c.name.padEnd(11)}${c.summary}\n`).join('')}
Options
  --help, -h     this help
  --version      print the version
`;

function version(): string {
  const require = createRequire(import.meta.url);
  // dist/combiner/main.js and combiner/main.ts sit at different depths below package.json.
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = require(rel) as { name?: string; version?: string };
      if (pkg.name === 'lambda-coverage' && pkg.version) return pkg.version;
    } catch { /* try the next */ }
  }
  return 'unknown';
}

function defaultIO(): CliIO {
  return {
    stdout: (t) => { process.stdout.write(t); },
    stderr: (t) => { process.stderr.write(t); },
    env: process.env,
    cwd: process.cwd(),
    progress: !!process.stderr.isTTY && !process.env.CI,
  };
}

/** Runs the CLI on `argv` (without `node` and the script) and returns the exit code. */
export async function main(argv: string[], ioOverrides: Partial<CliIO> = {}): Promise<number> {
  const io: CliIO = { ...defaultIO(), ...ioOverrides };
  const verbose = argv.includes('--verbose');
  const [first, ...rest] = argv;
  try {
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      io.stdout(TOP_HELP);
      return first === undefined ? EXIT_ERROR : EXIT_OK;
    }
    if (first === '--version' || first === '-v') {
      io.stdout(`${version()}\n`);
      return EXIT_OK;
    }
    const command = COMMANDS.find((c) => c.name === first);
    if (!command) throw new UsageError(`unknown command "${first}"; try: lambda-coverage combine --help`);
    return await command.run(rest, io);
  } catch (e) {
    const err = e as Error;
    // Bad option values found by the library (a --path-map without '=', an unknown reporter) are usage errors too.
    const usage = err instanceof UsageError || ['CombineError', 'PathMapError', 'ReporterError', 'CoverageEnvError'].includes(err?.name);
    io.stderr(`lambda-coverage: ${usage ? '' : 'error: '}${err.message}\n`);
    if (usage) io.stderr('Run "lambda-coverage combine --help" for the options.\n');
    if (verbose && err.stack) io.stderr(`${err.stack}\n`);
    else if (!usage) io.stderr('(--verbose shows the stack)\n');
    return EXIT_ERROR;
  }
}
