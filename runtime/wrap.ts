/**
 * withCoverage(handler): the one code path used by the layer's shim and by bundled use. It composes
 * the container's coverage lifecycle (lifecycle.ts: health, flush, deferred link, shutdown) with the
 * adapter of the handler's shape (shapes/: promise, callback, streaming). The user's result and error
 * pass through untouched; coverage problems are logged and never reach the caller.
 */
import { isCoverageEnabled, type FlushMode } from './config.js';
import { hooks, runtimeState } from './lifecycle.js';
import { SHAPES, shapeOf, type AnyHandler, type HandlerCall } from './shapes/index.js';

const WRAPPED = Symbol.for('lambda-coverage.wrapped');

export interface WithCoverageOptions {
  /** Overrides COVERAGE_ENABLED. */
  enabled?: boolean;
  /** Overrides COVERAGE_S3_BUCKET. */
  bucket?: string;
  /** Overrides COVERAGE_S3_PREFIX. @default "coverage/" */
  prefix?: string;
  /** Overrides COVERAGE_FLUSH. @default "inline" */
  flush?: FlushMode;
  /** Overrides COVERAGE_MANIFEST. */
  manifest?: string;
  /** Environment to read instead of process.env (tests, custom runtimes). */
  env?: Record<string, string | undefined>;
}

function envFrom(options: WithCoverageOptions | undefined): Record<string, string | undefined> {
  const base = options?.env ?? process.env;
  // Only read: without overrides no copy (copying process.env reads every variable through the runtime).
  if (options === undefined || [options.enabled, options.bucket, options.prefix, options.flush, options.manifest].every((v) => v === undefined)) return base;
  const env: Record<string, string | undefined> = { ...base };
  if (options?.enabled !== undefined) env.COVERAGE_ENABLED = options.enabled ? '1' : '0';
  if (options?.bucket !== undefined) env.COVERAGE_S3_BUCKET = options.bucket;
  if (options?.prefix !== undefined) env.COVERAGE_S3_PREFIX = options.prefix;
  if (options?.flush !== undefined) env.COVERAGE_FLUSH = options.flush;
  if (options?.manifest !== undefined) env.COVERAGE_MANIFEST = options.manifest;
  return env;
}

/**
 * Wraps a Lambda handler (async, callback or response-streaming). With COVERAGE_ENABLED not 1 it
 * returns the handler itself.
 *
 * @example
 * import { withCoverage } from 'lambda-coverage/runtime';
 *
 * export const handler = withCoverage(async (event: { name?: string }) => ({ statusCode: 200, body: `hi ${event.name}` }));
 */
export function withCoverage<H extends (...args: any[]) => any>(handler: H, options?: WithCoverageOptions): H {
  if (typeof handler !== 'function') {
    throw new TypeError(`withCoverage(handler): handler must be a function, got ${handler === null ? 'null' : typeof handler}`);
  }
  const env = envFrom(options);
  if (!isCoverageEnabled(env)) return handler;
  const inner = handler as unknown as AnyHandler;
  // Symbol.for: a wrapper made by another copy of this module (layer + bundle) is not wrapped again.
  if (inner[WRAPPED] === true) return handler;
  const life = hooks(runtimeState(env));

  // The shape is picked per call: whether a callback comes depends on the runtime client, and
  // streamifyResponse may be applied to the wrapper after wrapping.
  const wrapper = function (this: unknown, event: unknown, second: unknown, third: unknown): unknown {
    const call: HandlerCall = { handler: inner, wrapper: w, self: this, args: [event, second, third] };
    const shape = shapeOf(call);
    const context = shape.context(call);
    const health = life.health(event, context);
    if (health !== undefined) return shape.answer(call, health);
    life.before(event, context);
    return shape.invoke(call, life, context);
  };
  Object.defineProperty(wrapper, 'length', { value: handler.length });
  Object.defineProperty(wrapper, 'name', { value: handler.name || 'handler' });
  const w = wrapper as unknown as AnyHandler;
  for (const shape of SHAPES) shape.adopt?.(w, inner);
  w[WRAPPED] = true;
  return wrapper as unknown as H;
}
