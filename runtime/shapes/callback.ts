/**
 * Callback handlers (`(event, context, callback) => void`), or any handler the runtime hands a
 * callback: the flush runs when the handler calls back, then the runtime's own callback gets the same
 * arguments, so its callbackWaitsForEmptyEventLoop behaviour stays as it is. Never promisified.
 */
import type { LambdaContextLike } from '../lifecycle.js';
import type { HandlerShape } from './shape.js';
import { isPromiseLike, settle } from './shape.js';

export const callbackShape: HandlerShape = {
  matches: (call) => typeof call.args[2] === 'function',
  context: (call) => call.args[1] as LambdaContextLike | undefined,
  answer: (_call, report) => report,
  invoke(call, hooks, context) {
    const [event, context_, callback] = call.args as [unknown, unknown, (...a: unknown[]) => void];
    let called = false;
    const onEmptyLoop = () => {
      // A handler that returned without a promise and never called back: the runtime answers null
      // when the event loop empties (its listener runs first); the flush follows.
      if (!called) { called = true; void hooks.after(context); }
    };
    const wrappedCallback = (...args: unknown[]) => {
      called = true;
      process.removeListener('beforeExit', onEmptyLoop);
      void hooks.after(context).then(() => callback(...args));
    };
    let result: unknown;
    try {
      result = call.handler.call(call.self, event, context_, wrappedCallback);
    } catch (err) {
      // The Node runtime turns a synchronous throw into callback(err): the same, after the flush.
      wrappedCallback(err);
      return undefined;
    }
    if (isPromiseLike(result)) return settle(result, hooks, context);
    if (!called) process.once('beforeExit', onEmptyLoop);
    return result;
  },
};
