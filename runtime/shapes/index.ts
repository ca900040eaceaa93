/**
 * The handler shapes the wrapper knows, in the order they are asked: the most specific first, the
 * promise shape (which takes any call) last. Adding a shape: its adapter file and a line here.
 */
import { callbackShape } from './callback.js';
import { promiseShape } from './promise.js';
import type { HandlerCall, HandlerShape } from './shape.js';
import { streamingShape } from './streaming.js';

export type { AnyHandler, HandlerCall, HandlerShape } from './shape.js';

export const SHAPES: readonly HandlerShape[] = [streamingShape, callbackShape, promiseShape];

export function shapeOf(call: HandlerCall): HandlerShape {
  for (const shape of SHAPES) if (shape.matches(call)) return shape;
  return promiseShape;
}
