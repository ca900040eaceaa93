/** Pure, loaded at cold start: recognizes a health request without loading the health report code. */
export interface HealthRequest { deep: boolean; http: boolean }

/** Recognizes a health request; `httpEnabled` is COVERAGE_HEALTH_HTTP. */
export function parseHealthRequest(event: unknown, httpEnabled: boolean): HealthRequest | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as Record<string, any>;
  if (e.lambdaCoverage === 'health') return { deep: e.deep === true || e.deep === 'true' || e.deep === 1, http: false };
  if (!httpEnabled) return undefined;
  const path = typeof e.rawPath === 'string' ? e.rawPath : typeof e.path === 'string' ? e.path : undefined;
  const method = e.requestContext?.http?.method ?? e.httpMethod;
  if (path === undefined || !/\/__coverage\/health\/?$/.test(path) || method !== 'GET') return undefined;
  const deepParam = e.queryStringParameters?.deep;
  return { deep: deepParam === '1' || deepParam === 'true', http: true };
}

