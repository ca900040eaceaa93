/**
 * The health check: `{"lambdaCoverage":"health"}` (optionally `"deep": true`) as a direct invocation,
 * or `GET /__coverage/health[?deep=1]` through API Gateway / a function URL when COVERAGE_HEALTH_HTTP=1
 * (the deep probe over HTTP only with COVERAGE_HEALTH_HTTP_DEEP=1 as well). Answered without running
 * the user's handler. The report is built field by field from the collector, never by spreading its
 * state, so it carries the documented fields and nothing else; problems are described in our own fixed
 * words (health-wording.ts), so no credential, environment value other than bucket and prefix, or S3
 * error text reaches the caller.
 */
import { LAYER_VERSION, type Collector, type ProbeResult } from './collector.js';
import { isFatal } from './config.js';
import { publicKind, publicMessage } from './health-wording.js';

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  coverage_enabled: boolean;
  layer_version: string;
  s3_config: { bucket: string; prefix: string };
  timestamp: string;
  errors: { kind: string; message: string; count: number; last_at: string }[];
  instrumented_files: number;
  last_upload: { ok: boolean; key: string | null; bytes: number | null; ms: number | null; error: string | null; at: string } | null;
  pending: boolean;
  flush_mode: 'inline' | 'deferred';
  flush_mode_note: string | null;
  /** `light`: signed PUTs over node:https; `sdk`: @aws-sdk/client-s3 (no credentials in the environment, or COVERAGE_UPLOAD_PATH=sdk). */
  upload_path: 'light' | 'sdk';
  container_id: string;
  invocations: number;
  /** Per-test coverage: named tests kept, the bound (COVERAGE_MAX_TESTS), invocations over it; null when off. */
  per_test: { tests: number; limit: number; overflow: number } | null;
  /** With `deep` (direct, or HTTP with COVERAGE_HEALTH_HTTP_DEEP=1): the probe write, or the window's earlier one. */
  deep_check?: { ok: boolean; key: string; ms: number; error: string | null; at: string; reused: boolean };
  /** With `?deep=1` over HTTP without COVERAGE_HEALTH_HTTP_DEEP=1: why no probe was written. */
  deep_check_skipped?: string;
}

/** What an HTTP caller asking for `deep` is told when the second opt-in is not set. */
export const DEEP_HTTP_OFF = 'deep checks over HTTP are off: no probe was written. Set COVERAGE_HEALTH_HTTP_DEEP=1 to allow GET /__coverage/health?deep=1, or invoke the function directly with {"lambdaCoverage":"health","deep":true}';

export { parseHealthRequest, type HealthRequest } from './health-request.js';

/**
 * `flush`: the mode in effect and why it differs from COVERAGE_FLUSH (the wrapper decides it).
 * `request.http`: asked through API Gateway / a function URL, where `deep` needs its own opt-in.
 */
export async function healthReport(c: Collector, flush: { mode: 'inline' | 'deferred'; note: string | null }, request: { deep: boolean; http: boolean }, deadline: number): Promise<HealthReport> {
  const cov = c.coverage();
  const instrumented = cov === undefined ? 0 : Object.keys(cov).length;
  if (cov === undefined && c.active) {
    c.log.problem('not-instrumented', 'globalThis.__coverage__ is not set: this bundle was not built with coverageInstrument() and COVERAGE_ENABLED=1 at build time, so there is nothing to upload');
  }
  const logged = [...c.log.errors.values()];
  const report: HealthReport = {
    status: 'healthy',
    coverage_enabled: c.active,
    layer_version: LAYER_VERSION,
    s3_config: { bucket: c.config.bucket, prefix: c.config.prefix },
    timestamp: new Date().toISOString(),
    errors: logged.map(({ kind, count, last_at }) => ({ kind: publicKind(kind), message: publicMessage(kind), count, last_at })),
    instrumented_files: instrumented,
    last_upload: lastUploadView(c),
    pending: c.pending,
    flush_mode: flush.mode,
    flush_mode_note: flush.note,
    upload_path: c.uploadPath,
    container_id: c.containerId,
    invocations: c.invocations,
    per_test: c.perTestStatus(),
  };
  if (request.deep && request.http && !c.config.healthHttpDeep) report.deep_check_skipped = DEEP_HTTP_OFF;
  else if (request.deep) report.deep_check = probeView(await c.probeWrite(deadline));
  // An unknown COVERAGE_* name is only a warning; every other logged problem makes it unhealthy.
  const fatal = logged.some((e) => !e.kind.startsWith('config:') || isFatal({ variable: e.kind.slice(7), message: '' }));
  const bad = !c.active || instrumented === 0 || fatal
    || (c.lastUpload !== null && !c.lastUpload.ok)
    || (report.deep_check !== undefined && !report.deep_check.ok);
  report.status = bad ? 'unhealthy' : 'healthy';
  return report;
}

/**
 * The collector keeps the upload's own error text (it is logged); health names the failure by the
 * kind the same failure was logged under: the upload:* problem seen last.
 */
function lastUploadView(c: Collector): HealthReport['last_upload'] {
  const u = c.lastUpload;
  if (u === null) return null;
  let error: string | null = null;
  if (!u.ok) {
    let latest: { kind: string; last_at: string } | undefined;
    for (const e of c.log.errors.values()) {
      if (e.kind.startsWith('upload:') && (latest === undefined || e.last_at >= latest.last_at)) latest = e;
    }
    error = latest !== undefined ? publicMessage(latest.kind) : publicMessage('upload:other');
  }
  return { ok: u.ok, key: u.key, bytes: u.bytes, ms: u.ms, error, at: u.at };
}

function probeView(p: ProbeResult): NonNullable<HealthReport['deep_check']> {
  return { ok: p.ok, key: p.key, ms: p.ms, error: p.kind === null ? null : publicMessage(p.kind), at: p.at, reused: p.reused };
}

export function httpHealthResponse(report: HealthReport): { statusCode: number; headers: Record<string, string>; body: string } {
  return {
    statusCode: report.status === 'healthy' ? 200 : 503,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(report),
  };
}
