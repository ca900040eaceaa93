/**
 * What every `lambda-coverage` command is given and returns: the I/O it may use, the exit codes CI
 * reads, the usage error, and the shape of a command module (commands/combine.ts, commands/layer.ts).
 */
import type { OptionSpec } from './options.js';

export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Draw the progress bar (stderr is a terminal and not CI). */
  progress: boolean;
}

export const EXIT_OK = 0;
export const EXIT_THRESHOLD = 1;
export const EXIT_ERROR = 2;

export { UsageError } from './options.js';

/** One subcommand, as main.ts dispatches it and prints it in the top-level help. */
export interface Command {
  name: string;
  /** One line for `lambda-coverage --help`. */
  summary: string;
  /** Its declared options (help and parsing are derived from them). */
  options: readonly OptionSpec[];
  run: (args: string[], io: CliIO) => Promise<number>;
}
