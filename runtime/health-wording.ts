/**
 * What the health check says about a problem: our own fixed wording per error kind, never the text the
 * problem came with. That text (S3's error message, an exception's message, a file path, a setting's
 * value) can carry account ids, role ARNs, request ids, endpoints or other environment values, and
 * `GET /__coverage/health` is answered to anyone who can reach the API. The full text stays in the
 * function's log line of the same kind (CloudWatch), which only the account can read.
 *
 * An allow-list on purpose: a kind added elsewhere without wording here is shown with a generic line
 * that points to the log, so a new problem can never leak through health by default.
 */
import { CONFIG_VARIABLES } from './config.js';
import { UPLOAD_HINTS } from './s3.js';

/** Kinds shown as they are: our names, setting names, and S3 error codes (identifiers, not text). */
const SHOWN_KIND = /^(?:config:COVERAGE_[A-Za-z0-9_]{1,64}|upload:[A-Za-z][A-Za-z0-9_]{0,63}|[a-z][a-z-]{0,31})$/;

// Maps, not object literals: a kind such as `constructor` must not find Object's members.
const FIXED = new Map(Object.entries({
  'disabled': 'coverage is off (see errors)',
  'not-instrumented': 'globalThis.__coverage__ is not set: this bundle was not built with coverageInstrument() and COVERAGE_ENABLED=1 at build time, so there is nothing to upload',
  'maps-missing': 'some instrumented files have no maps: ship lambda-coverage-manifest.json beside the bundle or set COVERAGE_MANIFEST; their counters are left out (the log names the files)',
  'manifest': 'the build manifest cannot be read (the log names the file and the reason)',
  'tmp': 'the counters waiting for S3 cannot be kept in /tmp (the log says why)',
  'orphan': 'a shard left in /tmp by an earlier process could not be sent yet; it is tried again at the next flush',
  'internal': 'lambda-coverage could not take a snapshot (an internal error; the log has the details, please report it)',
  'other': 'a problem the health check does not describe; the function\'s log has the details',
}));

/** Our own upload kinds (S3's error codes take their wording from UPLOAD_HINTS in s3.ts). */
const UPLOAD = new Map(Object.entries({
  timeout: 'S3 did not answer within the time left',
  network: 'S3 cannot be reached (a network error)',
  tls: 'the TLS certificate of the S3 endpoint is not accepted (self-signed, expired or for another name): check COVERAGE_S3_ENDPOINT, or give its CA in NODE_EXTRA_CA_CERTS',
  deferred: 'too little time was left before the function\'s deadline or COVERAGE_UPLOAD_TIMEOUT: nothing was sent, the next flush sends it',
  'sdk-missing': '@aws-sdk/client-s3 cannot be loaded (the managed Node.js runtimes ship it; with a custom runtime add it to the function)',
  SlowDown: 'S3 asked for fewer requests (SlowDown)',
}));

/** The kind as health shows it: unchanged when it is one of ours or an S3 error code. */
export function publicKind(kind: string): string {
  if (SHOWN_KIND.test(kind)) return kind;
  return kind.startsWith('upload:') ? 'upload:other' : 'other';
}

/** The fixed sentence for a kind; takes the raw kind (it is checked here). */
export function publicMessage(rawKind: string): string {
  const kind = publicKind(rawKind);
  const fixed = FIXED.get(kind);
  if (fixed !== undefined) return fixed;
  if (kind.startsWith('config:')) {
    const variable = kind.slice('config:'.length);
    return (CONFIG_VARIABLES as readonly string[]).includes(variable)
      ? `${variable} is not set as lambda-coverage needs, so coverage is off: the function's log line of kind ${kind} says what was found and what is expected`
      : `${variable} is not a lambda-coverage setting and is ignored; check its spelling`;
  }
  if (kind.startsWith('upload:')) {
    const code = kind.slice('upload:'.length);
    const hint = UPLOAD_HINTS.get(code);
    if (hint !== undefined) return `${hint} (${code})`;
    return UPLOAD.get(code) ?? (code === 'other'
      ? 'the write to S3 failed; the function\'s log has S3\'s own message'
      : `S3 refused the write (${code}); the function's log has S3's own message`);
  }
  return FIXED.get('other')!;
}
