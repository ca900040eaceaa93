/** API Gateway HTTP API (payload v2) handler: POST /orders, GET /orders/{id}. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parseOrder, totalOf, ValidationError } from '../lib/orders.js';
import { find, save } from '../lib/store.js';

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const method = event.requestContext?.http?.method ?? 'GET';
  if (method === 'POST' && event.rawPath === '/orders') return createOrder(event.body);
  if (method === 'GET' && event.rawPath.startsWith('/orders/')) {
    const order = find(event.rawPath.slice('/orders/'.length));
    return order ? json(200, order) : json(404, { message: 'order not found' });
  }
  return json(405, { message: `${method} ${event.rawPath} is not supported` });
}

function createOrder(body: string | undefined): APIGatewayProxyStructuredResultV2 {
  let input: unknown;
  try {
    input = JSON.parse(body ?? '');
  } catch {
    return json(400, { message: 'body is not JSON' });
  }
  try {
    const order = parseOrder(input);
    const stored = { ...order, total: totalOf(order), status: 'accepted' as const, createdAt: Date.now() };
    return save(stored) === 'created' ? json(201, stored) : json(409, { message: 'order exists' });
  } catch (err) {
    if (err instanceof ValidationError) return json(422, { field: err.field, message: err.message });
    throw err;
  }
}
