/**
 * How a command declares its options, once, and what is derived from that declaration: the parseArgs
 * configuration, the checked and converted values, the --help text, the "must be …" phrases the Lambda
 * event check shares (combiner/event.ts), and the Type/Default cells the docs' tables are tested
 * against (test/combiner/options-docs.test.ts). Plain data and functions, no I/O.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad command line: printed without "error:" and followed by where to read the options. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The range a number must lie in. */
export interface NumberRule {
  min?: number;
  max?: number;
  /** Whole numbers only. */
  integer?: boolean;
}

export interface OptionSpec<Field extends string = string, Section extends string = string> {
  /** The flag without its `--`. */
  flag: string;
  short?: string;
  /** Placeholder of the value in --help and the docs (`NAME`, `N`); none for a boolean. */
  arg?: string;
  type: 'string' | 'number' | 'boolean';
  /** Repeatable: every value is kept, in order. */
  multiple?: true;
  /** The only values a string may take. */
  choices?: readonly string[];
  /** The range a number must lie in. */
  range?: NumberRule;
  /** The --help line (lower case, no final period). */
  description: string;
  /** The default in Markdown, as the docs' tables show it; absent: none (`–`). */
  default?: string;
  /** The --help section it is listed under. */
  section: Section;
  /** Where the value goes in the command's options; dotted for a nested one (`limits.maxFiles`). */
  field: Field;
  /** The checked value → the field's value (MB → bytes, seconds → ms, a comma list → names). */
  convert?: (value: never) => unknown;
}

/** `between 0 and 100`, `≥ 1`: the range as every message says it. */
function rangeText(rule: NumberRule): string {
  if (rule.max !== undefined) return ` between ${rule.min ?? 0} and ${rule.max}`;
  if (rule.min !== undefined) return ` ≥ ${rule.min}`;
  return '';
}

/** What a number must be: `a whole number ≥ 1`, `a number between 0 and 100`. */
export function numberExpected(rule: NumberRule): string {
  return `a ${rule.integer ? 'whole ' : ''}number${rangeText(rule)}`;
}

export function numberHolds(rule: NumberRule, n: number): boolean {
  return Number.isFinite(n) && (!rule.integer || Number.isInteger(n))
    && (rule.min === undefined || n >= rule.min) && (rule.max === undefined || n <= rule.max);
}

/** `"newest" or "all"`. */
export function choicesExpected(choices: readonly string[]): string {
  const quoted = choices.map((c) => `"${c}"`);
  return quoted.length < 2 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

/** The Type cell of the docs' tables: `string`, `string[]`, `number`, `boolean`. */
export function docType(spec: OptionSpec): string {
  return `${spec.type}${spec.multiple ? '[]' : ''}`;
}

/** `--bucket NAME` */
export function flagText(spec: OptionSpec): string {
  return `--${spec.flag}${spec.arg ? ` ${spec.arg}` : ''}`;
}

function parseArgsConfig(specs: readonly OptionSpec[]): NonNullable<ParseArgsConfig['options']> {
  const config: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const s of specs) {
    config[s.flag] = {
      type: s.type === 'boolean' ? 'boolean' : 'string',
      ...(s.multiple ? { multiple: true } : {}),
      ...(s.short ? { short: s.short } : {}),
    };
  }
  return config;
}

/** One command-line value checked against its declaration; a usage error names the flag. */
function check(spec: OptionSpec, value: string | boolean): string | number | boolean {
  if (typeof value === 'boolean') return value;
  if (spec.type === 'number') {
    const n = Number(value);
    if (value.trim() === '' || !numberHolds(spec.range ?? {}, n)) {
      throw new UsageError(`--${spec.flag} must be ${numberExpected(spec.range ?? {})}, not "${value}"`);
    }
    return n;
  }
  if (spec.choices && !spec.choices.includes(value)) throw new UsageError(`--${spec.flag} must be ${choicesExpected(spec.choices)}, not "${value}"`);
  return value;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let at = target;
  for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Record<string, unknown>;
  at[keys.at(-1)!] = value;
}

/**
 * argv (without the command) → the values of the given options, checked, converted and placed at
 * their fields; absent options are absent. Every value is checked even with --help.
 */
export function parseOptions(specs: readonly OptionSpec[], args: string[]): { values: Record<string, unknown>; help: boolean } {
  let parsed: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    parsed = parseArgs({ args, options: parseArgsConfig(specs), strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError((e as Error).message, { cause: e });
  }
  const values: Record<string, unknown> = {};
  for (const spec of specs) {
    const raw = parsed[spec.flag];
    if (raw === undefined) continue;
    const checked = Array.isArray(raw) ? raw.map((r) => check(spec, r)) : check(spec, raw);
    setPath(values, spec.field, spec.convert ? (spec.convert as (v: unknown) => unknown)(checked) : checked);
  }
  return { values, help: parsed.help === true };
}

/** The default as --help says it: Markdown's backticks dropped; a boolean's `false` goes without saying. */
function helpDefault(spec: OptionSpec): string | undefined {
  if (spec.default === undefined || (spec.type === 'boolean' && spec.default === '`false`')) return undefined;
  return spec.default.replaceAll('`', '').replaceAll('\\|', '|');
}

/**
 * The --help text: the usage line, what the command does, then each section's options in declaration
 * order, sections in the order of `sections` (one titled '' gets no title line).
 */
export function renderHelp<S extends string>(cmd: {
  usage: string;
  description: string;
  sections: Readonly<Record<S, string>>;
  options: readonly OptionSpec<string, S>[];
}): string {
  const width = Math.max(23, ...cmd.options.map((s) => flagText(s).length)) + 2;
  let text = `${cmd.usage}\n\n${cmd.description}\n`;
  for (const [section, title] of Object.entries(cmd.sections) as [S, string][]) {
    const lines = cmd.options.filter((s) => s.section === section).map((s) => {
      const def = helpDefault(s);
      const notes = [s.multiple ? 'repeatable' : '', def !== undefined ? `default: ${def}` : ''].filter(Boolean);
      return `  ${flagText(s).padEnd(width)}${s.description}${notes.length ? ` (${notes.join('; ')})` : ''}\n`;
    });
    if (lines.length > 0) text += `\n${title ? `${title}\n` : ''}${lines.join('')}`;
  }
  return text;
}
