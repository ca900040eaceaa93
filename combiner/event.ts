/**
 * The combiner Lambda's event: which fields it takes and how each is checked, derived from the combine
 * command's declaration (commands/combine.ts, each option's `event`), plus the two fields only an event
 * has. An event field is named as the CombineOptions field it sets (`functions`, `outputPrefix`); a
 * dotted field (`thresholds.lines`) is a key of an object field. Messages read `event.X must be …`, with
 * the same "must be …" as the flag's.
 */
import type { InputLimits } from '../contract/format.js';
import type { CombineOptions } from './combine.js';
import { COMBINE_OPTIONS, type CombineOptionSpec } from './commands/combine.js';
import { choicesExpected, numberExpected, numberHolds } from './commands/options.js';
import type { Thresholds } from './reports.js';

/** The combiner Lambda's event: the combine options an invoker may set (checked by checkEvent). */
export interface CombineEvent {
  bucket: string;
  /** @default "coverage/" */
  prefix?: string;
  functions?: string[];
  /** @default ["html", "lcov", "cobertura", "json", "json-summary", "text-summary"] */
  reporters?: string[];
  /** @default `{prefix}combined/{runId}/` */
  outputPrefix?: string;
  runId?: string;
  manifests?: string[];
  /** A unified diff (`s3://bucket/key`): coverage-patch.json and `thresholds.patchLines` are about its changed lines. */
  diff?: string;
  pathMap?: string[];
  build?: 'newest' | 'all';
  thresholds?: Thresholds;
  maxInvalid?: number;
  concurrency?: number;
  /** Also write the merged result as a shard (`s3://bucket/key`). */
  asShard?: string;
  /** Bounds per input, as `combine()` takes them (bytes for sizes). @default the CLI's defaults */
  limits?: Partial<InputLimits>;
  /** Per-test outputs (lcov.info sections, coverage-tests.json, per-test/), uploaded with the reports. */
  perTest?: boolean;
  /** Reports of just these tests. */
  tests?: string[];
}

export class CombineEventError extends Error {
  override name = 'CombineEventError';
}

/**
 * Event-only fields. `thresholds`: an object of the declared `thresholds.*` fields (given, they are
 * checked: the event has no checkCoverage). `limits`: the bounds of the `--max-*` flags in bytes, as
 * combine() takes them; combine() checks its keys and values (messages naming the flag).
 */
const OBJECT_FIELDS: Record<string, { example: string; keyNoun?: string }> = {
  thresholds: { example: '{ "lines": 80 }', keyNoun: 'a metric' },
  limits: { example: '{ "maxFiles": 100000 }' },
};

/** The declared options the event takes (`event` not false). */
export const EVENT_OPTIONS: readonly CombineOptionSpec[] = COMBINE_OPTIONS.filter((s) => s.event !== false);

/** Every top-level field of the event. */
export const EVENT_FIELDS: readonly string[] = [...new Set([...EVENT_OPTIONS.map((s) => s.field.split('.')[0]!), ...Object.keys(OBJECT_FIELDS)])];

const fail = (message: string): never => {
  throw new CombineEventError(message);
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One value against its option's declaration; `name` as the message says it (`thresholds.lines`). */
function checkValue(spec: CombineOptionSpec, name: string, v: unknown): void {
  const use = spec.event === true || spec.event === false ? {} : spec.event;
  if (use.required && (typeof v !== 'string' || v === '')) fail(`event.${name} is required (${use.required})`);
  if (v === undefined) return;
  if (spec.type === 'number') {
    const rule = use.range ?? spec.range ?? {};
    if (typeof v !== 'number' || !numberHolds(rule, v)) fail(`event.${name} must be ${numberExpected(rule)}`);
  } else if (spec.multiple) {
    if (!(Array.isArray(v) && v.every((x) => typeof x === 'string'))) fail(`event.${name} must be an array of strings`);
  } else if (spec.choices) {
    if (!spec.choices.includes(v as string)) fail(`event.${name} must be ${choicesExpected(spec.choices)}`);
  } else if (spec.type === 'string' && typeof v !== 'string') {
    fail(`event.${name} must be a string`);
  } else if (spec.type === 'boolean' && typeof v !== 'boolean') {
    fail(`event.${name} must be true or false`);
  }
  // The event is not the function's own configuration: it may name objects in S3, never local files.
  if (use.s3Only) {
    for (const s of Array.isArray(v) ? (v as string[]) : []) {
      if (!s.startsWith('s3://')) fail(`event.${name}: ${JSON.stringify(s.slice(0, 200))} is not an s3://bucket/key URL (the combiner Lambda reads no local files named by an event)`);
    }
    if (typeof v === 'string' && !v.startsWith('s3://')) fail(`event.${name} must be an s3://bucket/key URL`);
  }
}

/** Checks an event before anything is read; the first wrong field is named. */
export function checkEvent(event: unknown): CombineEvent {
  if (typeof event !== 'object' || event === null) return fail('event must be an object like { "bucket": "my-bucket", "prefix": "coverage/" }');
  const e = event as Record<string, unknown>;
  for (const spec of EVENT_OPTIONS) {
    if (!spec.field.includes('.')) checkValue(spec, spec.field, e[spec.field]);
  }
  for (const [field, { example, keyNoun }] of Object.entries(OBJECT_FIELDS)) {
    const v = e[field];
    if (v === undefined) continue;
    if (!isObject(v)) fail(`event.${field} must be an object like ${example}`);
    if (!keyNoun) continue;
    const keys = EVENT_OPTIONS.filter((s) => s.field.startsWith(`${field}.`));
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const spec = keys.find((s) => s.field === `${field}.${k}`);
      if (!spec) return fail(`event.${field}.${k}: not ${keyNoun}; use ${keys.map((s) => s.field.slice(field.length + 1)).join(', ')}`);
      checkValue(spec, `${field}.${k}`, x);
    }
  }
  return e as unknown as CombineEvent;
}

/** The CombineOptions a checked event gives through its declared top-level fields (not the object fields). */
export function eventOptions(ev: CombineEvent): Partial<CombineOptions> {
  const event = ev as unknown as Record<string, unknown>;
  const options: Record<string, unknown> = {};
  for (const spec of EVENT_OPTIONS) {
    if (!spec.field.includes('.') && event[spec.field] !== undefined) options[spec.field] = event[spec.field];
  }
  return options as Partial<CombineOptions>;
}
