/**
 * Response-streaming handlers (`awslambda.streamifyResponse(async (event, responseStream, context))`):
 * the runtime knows them by a symbol on the function, so the wrapper carries the same symbols, and a
 * health answer is written to the stream.
 */
import type { LambdaContextLike } from '../lifecycle.js';
import type { AnyHandler, HandlerShape } from './shape.js';
import { settle } from './shape.js';

/** Set by awslambda.streamifyResponse; kept on the wrapper so the runtime streams it the same way. */
export const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
export const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');

function isStreaming(fn: AnyHandler): boolean {
  return fn[HANDLER_STREAMING] === 'response';
}

export const streamingShape: HandlerShape = {
  // The wrapper too: streamifyResponse may be applied to it after wrapping.
  matches: (call) => isStreaming(call.wrapper) || isStreaming(call.handler),
  context: (call) => call.args[2] as LambdaContextLike | undefined,
  answer(call, report) {
    const stream = call.args[1] as { write(b: string): unknown; end(): unknown };
    return report.then((r) => { stream.write(JSON.stringify(r)); stream.end(); });
  },
  invoke: (call, hooks, context) => settle(call.handler.call(call.self, ...call.args), hooks, context),
  adopt(wrapper, handler) {
    for (const sym of [HANDLER_STREAMING, HANDLER_HIGHWATERMARK]) if (sym in handler) wrapper[sym] = handler[sym];
  },
};
