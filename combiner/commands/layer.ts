/**
 * `lambda-coverage layer --out dist/lambda-coverage-layer.zip`: builds the layer zip with the runtime's
 * builder (runtime/layer-build.ts `buildLayer({ out })`), loaded only for this command. Its options are
 * declared once below; the help is rendered from them.
 */
import { resolve } from 'node:path';
import { EXIT_OK, type CliIO, type Command } from './io.js';
import { parseOptions, renderHelp, type OptionSpec } from './options.js';

const DEFAULT_OUT = 'dist/lambda-coverage-layer.zip';

export const LAYER_OPTIONS: readonly OptionSpec<'out' | 'verbose', 'options'>[] = [
  { flag: 'out', arg: 'FILE', type: 'string', section: 'options', field: 'out', default: `\`${DEFAULT_OUT}\``,
    description: 'where to write the zip' },
  // Read by main.ts (stack traces on errors); declared so that it is accepted here.
  { flag: 'verbose', type: 'boolean', section: 'options', field: 'verbose', default: '`false`', description: 'stack traces on errors' },
];

export const LAYER_HELP = renderHelp({
  usage: `Usage: lambda-coverage layer [--out ${DEFAULT_OUT}]`,
  description: 'Builds the Lambda layer zip (exec wrapper, preload, runtime).',
  sections: { options: 'Options' },
  options: LAYER_OPTIONS,
});

async function run(args: string[], io: CliIO): Promise<number> {
  const { values, help } = parseOptions(LAYER_OPTIONS, args) as { values: { out?: string }; help: boolean };
  if (help) {
    io.stdout(LAYER_HELP);
    return EXIT_OK;
  }
  const { buildLayer } = await import('../../runtime/layer-build.js');
  const out = resolve(io.cwd, values.out ?? DEFAULT_OUT);
  buildLayer({ out, print: (line) => io.stdout(`${line}\n`) });
  return EXIT_OK;
}

export const layerCommand: Command = {
  name: 'layer',
  summary: `build the Lambda layer zip (lambda-coverage layer --out ${DEFAULT_OUT})`,
  options: LAYER_OPTIONS,
  run,
};
