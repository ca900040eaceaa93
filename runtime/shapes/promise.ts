/**
 * Async handlers (`async (event, context) => result`), and every call that comes without a callback:
 * the runtime takes the returned promise (or value). The fallback shape, asked last.
 */
import type { LambdaContextLike } from '../lifecycle.js';
import type { HandlerShape } from './shape.js';
import { settle } from './shape.js';

export const promiseShape: HandlerShape = {
  matches: () => true,
  context: (call) => call.args[1] as LambdaContextLike | undefined,
  answer: (_call, report) => report,
  invoke(call, hooks, context) {
    const [event, context_, callback] = call.args;
    let result: unknown;
    try {
      result = call.handler.call(call.self, event, context_, callback);
    } catch (err) {
      return hooks.onError(context, err);
    }
    return settle(result, hooks, context);
  },
};
