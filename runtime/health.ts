/**
 * The health check: `{"lambdaCoverage":"health"}` (optionally `"deep": true`) as a direct invocation,
 * or `GET /__coverage/health[?deep=1]` through API Gateway / a function URL when COVERAGE_HEALTH_HTTP=1.
 * Answered without running the user's handler; shows no credentials and no other environment values.
 */
import { LAYER_VERSION, type Collector, type LastUpload } from './collector.js';
import { isFatal } from './config.js';
import type { LoggedError } from './log.js';

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  coverage_enabled: boolean;
  layer_version: string;
  s3_config: { bucket: string; prefix: string };
  timestamp: string;
  errors: Pick<LoggedError, 'kind' | 'message' | 'count' | 'last_at'>[];
  instrumented_files: number;
  last_upload: LastUpload | null;
  pending: boolean;
  flush_mode: 'inline' | 'deferred';
  flush_mode_note: string | null;
  /** `light`: signed PUTs over node:https; `sdk`: @aws-sdk/client-s3 (no credentials in the environment, or COVERAGE_UPLOAD_PATH=sdk). */
  upload_path: 'light' | 'sdk';
  container_id: string;
  invocations: number;
  deep_check?: { ok: boolean; key: string; ms: number; error: string | null };
}

export { parseHealthRequest, type HealthRequest } from './health-request.js';

/** `flush`: the mode in effect and why it differs from COVERAGE_FLUSH (the wrapper decides it). */
export async function healthReport(c: Collector, flush: { mode: 'inline' | 'deferred'; note: string | null }, deep: boolean, deadline: number): Promise<HealthReport> {
  const cov = c.coverage();
  const instrumented = cov === undefined ? 0 : Object.keys(cov).length;
  if (cov === undefined && c.active) {
    c.log.problem('not-instrumented', 'globalThis.__coverage__ is not set: this bundle was not built with coverageInstrument() and COVERAGE_ENABLED=1 at build time, so there is nothing to upload');
  }
  const report: HealthReport = {
    status: 'healthy',
    coverage_enabled: c.active,
    layer_version: LAYER_VERSION,
    s3_config: { bucket: c.config.bucket, prefix: c.config.prefix },
    timestamp: new Date().toISOString(),
    errors: [...c.log.errors.values()].map(({ kind, message, count, last_at }) => ({ kind, message, count, last_at })),
    instrumented_files: instrumented,
    last_upload: c.lastUpload,
    pending: c.pending,
    flush_mode: flush.mode,
    flush_mode_note: flush.note,
    upload_path: c.uploadPath,
    container_id: c.containerId,
    invocations: c.invocations,
  };
  if (deep) report.deep_check = await c.probeWrite(deadline);
  // An unknown COVERAGE_* name is only a warning; every other logged problem makes it unhealthy.
  const fatal = report.errors.some((e) => !e.kind.startsWith('config:') || isFatal({ variable: e.kind.slice(7), message: '' }));
  const bad = !c.active || instrumented === 0 || fatal
    || (c.lastUpload !== null && !c.lastUpload.ok)
    || (report.deep_check !== undefined && !report.deep_check.ok);
  report.status = bad ? 'unhealthy' : 'healthy';
  return report;
}

export function httpHealthResponse(report: HealthReport): { statusCode: number; headers: Record<string, string>; body: string } {
  return {
    statusCode: report.status === 'healthy' ? 200 : 503,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(report),
  };
}
