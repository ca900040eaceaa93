/**
 * The contract of a handler shape adapter (promise, callback, streaming): how the Lambda runtime
 * calls a handler of that shape and how it takes the response. An adapter decides when the
 * invocation has ended and calls the lifecycle's hooks then; it knows nothing of S3, the collector or
 * the extension. A new shape is one file here, one line in index.ts and one fixture in the tests.
 */
import type { InvocationHooks, LambdaContextLike } from '../lifecycle.js';

export type AnyHandler = ((...args: any[]) => any) & { [k: symbol]: unknown };

/** One call of the wrapper: the user's handler, the wrapper the runtime holds, `this` and the arguments. */
export interface HandlerCall {
  handler: AnyHandler;
  wrapper: AnyHandler;
  self: unknown;
  args: [unknown, unknown, unknown];
}

export interface HandlerShape {
  /** Whether this call is of this shape; asked in order (shapes/index.ts), the first that says yes runs it. */
  matches(call: HandlerCall): boolean;
  /** The Lambda context among this shape's arguments. */
  context(call: HandlerCall): LambdaContextLike | undefined;
  /** Gives a health answer back the way a handler of this shape answers. */
  answer(call: HandlerCall, report: Promise<unknown>): unknown;
  /** Runs the user's handler; `hooks.before` was called. Returns what the runtime takes as the result. */
  invoke(call: HandlerCall, hooks: InvocationHooks, context: LambdaContextLike | undefined): unknown;
  /** At wrap time: copies onto the wrapper what the runtime reads off the handler to pick the shape. */
  adopt?(wrapper: AnyHandler, handler: AnyHandler): void;
}

export function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
    || typeof v === 'function' && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * What the handler returned, settled after the flush: the same value, the same error object. A
 * non-promise result goes back as it is, the flush in the background.
 */
export function settle(result: unknown, hooks: InvocationHooks, context: LambdaContextLike | undefined): unknown {
  if (!isPromiseLike(result)) {
    void hooks.after(context);
    return result;
  }
  return Promise.resolve(result).then(
    (value) => hooks.after(context).then(() => value),
    (error: unknown) => hooks.onError(context, error),
  );
}
