/**
 * Which test an invocation belongs to, read from the event and the context: the `x-lambda-coverage-test`
 * header or a W3C `baggage` member `lambda-coverage.test` (API Gateway REST and HTTP APIs, function
 * URLs, ALB), the client context's custom key `lambda-coverage-test` (direct invocations), and the
 * message attribute `lambda-coverage-test` of SQS and SNS records (a batch naming several tests is
 * attributed to each). Pure and import-light: the layer runs it before every invocation, so it looks at
 * a few known places and nothing else. Names are untrusted (anyone who can call the API sets them):
 * each is checked by the contract's rule, and the count per invocation is bounded.
 */
import { testNameProblem } from '../contract/tests.js';

export const TEST_HEADER = 'x-lambda-coverage-test';
export const BAGGAGE_KEY = 'lambda-coverage.test';
export const ATTRIBUTE = 'lambda-coverage-test';
/** Distinct tests one invocation can be attributed to; the rest of a batch's names are ignored. */
export const MAX_TESTS_PER_INVOCATION = 16;
/** Records of a batch looked at (SQS batches hold up to 10,000 with a batching window). */
const MAX_RECORDS = 10_000;

export interface TestIdentity {
  /** The valid names, deduplicated, at most MAX_TESTS_PER_INVOCATION. Empty: untagged. */
  names: string[];
  /** Why a name given was not taken (the first such), for the log and health. */
  problem?: string;
}

const NONE: TestIdentity = { names: [] };

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** A header's value from API Gateway/ALB shapes: exact lower-case key first, then any spelling. */
function header(headers: unknown, name: string): string | undefined {
  if (!isObj(headers)) return undefined;
  const direct = headers[name];
  if (typeof direct === 'string') return direct;
  if (Array.isArray(direct) && typeof direct[0] === 'string') return direct[0];
  for (const k in headers) {
    if (k.length === name.length && k.toLowerCase() === name) {
      const v = headers[k];
      if (typeof v === 'string') return v;
      if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
    }
  }
  return undefined;
}

/** The `lambda-coverage.test` member of a W3C baggage header (its value percent-decoded), if any. */
export function fromBaggage(baggage: string): string | undefined {
  if (!baggage.includes(BAGGAGE_KEY)) return undefined;
  for (const member of baggage.split(',', 64)) {
    const eq = member.indexOf('=');
    if (eq < 0 || member.slice(0, eq).trim() !== BAGGAGE_KEY) continue;
    const raw = member.slice(eq + 1).split(';', 1)[0]!.trim();
    try { return decodeURIComponent(raw); } catch { return raw; }
  }
  return undefined;
}

function fromRecord(r: unknown): unknown {
  if (!isObj(r)) return undefined;
  const sqs = r.messageAttributes;
  if (isObj(sqs)) {
    const a = sqs[ATTRIBUTE];
    return isObj(a) ? a.stringValue : undefined;
  }
  const sns = isObj(r.Sns) ? r.Sns.MessageAttributes : undefined;
  if (isObj(sns)) {
    const a = sns[ATTRIBUTE];
    return isObj(a) ? a.Value : undefined;
  }
  return undefined;
}

function fromClientContext(context: unknown): unknown {
  if (!isObj(context)) return undefined;
  const cc = context.clientContext;
  if (!isObj(cc)) return undefined;
  const custom = isObj(cc.custom) ? cc.custom : isObj(cc.Custom) ? cc.Custom : undefined;
  return custom?.[ATTRIBUTE];
}

/** The tests an invocation names (see the top of this file); untagged when it names none. */
export function testIdentity(event: unknown, context: unknown): TestIdentity {
  const given: unknown[] = [];
  if (isObj(event)) {
    const headers = event.headers ?? event.multiValueHeaders;
    if (isObj(headers)) {
      const h = header(headers, TEST_HEADER) ?? header(event.multiValueHeaders, TEST_HEADER);
      if (h !== undefined) given.push(h);
      else {
        const b = header(headers, 'baggage') ?? header(event.multiValueHeaders, 'baggage');
        const name = b === undefined ? undefined : fromBaggage(b);
        if (name !== undefined) given.push(name);
      }
    }
    const records = event.Records;
    if (Array.isArray(records)) {
      const n = Math.min(records.length, MAX_RECORDS);
      for (let i = 0; i < n; i++) {
        const v = fromRecord(records[i]);
        if (v !== undefined) given.push(v);
      }
    }
  }
  const cc = fromClientContext(context);
  if (cc !== undefined) given.push(cc);
  if (given.length === 0) return NONE;
  const names: string[] = [];
  let problem: string | undefined;
  for (const g of given) {
    const why = testNameProblem(g);
    if (why !== undefined) {
      problem ??= `a test name ${why} (${JSON.stringify(String(g).slice(0, 40))}); that invocation is counted as untagged`;
      continue;
    }
    if (!names.includes(g as string)) {
      if (names.length === MAX_TESTS_PER_INVOCATION) {
        problem ??= `an invocation named more than ${MAX_TESTS_PER_INVOCATION} tests; the rest are not attributed`;
        break;
      }
      names.push(g as string);
    }
  }
  return problem === undefined ? { names } : { names, problem };
}
