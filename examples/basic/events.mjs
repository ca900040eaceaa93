// The fixed events `npm run demo` sends, and the container each goes to. Some fail on purpose.
// The demo test replays the same list in one process to check the combined numbers.

/** @param {string} method @param {string} rawPath @param {unknown} [body] */
const http = (method, rawPath, body) => ({
  version: '2.0',
  routeKey: `${method} ${rawPath}`,
  rawPath,
  rawQueryString: '',
  headers: { 'content-type': 'application/json' },
  requestContext: { http: { method, path: rawPath }, requestId: 'demo' },
  body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  isBase64Encoded: false,
});

/** @param {...unknown} bodies */
const sqs = (...bodies) => ({
  Records: bodies.map((body, i) => ({ messageId: `m-${i}`, body: typeof body === 'string' ? body : JSON.stringify(body) })),
});

/** @param {string} id @param {Record<string, unknown>} [extra] */
const order = (id, extra = {}) => ({
  id,
  customerId: 'c-1',
  lines: [{ sku: 'book', quantity: 2, unitPrice: 12.5 }],
  ...extra,
});

/** Functions of the demo and how many containers each gets. */
export const FUNCTIONS = [
  { name: 'api', containers: 2 },
  { name: 'queue', containers: 1 },
  { name: 'nightly', containers: 1 },
];

/**
 * [function, container index, event] in the order they are sent.
 * @type {[string, number, any][]}
 */
export const EVENTS = [
  ['api', 0, http('POST', '/orders', order('o-1'))],
  ['api', 1, http('POST', '/orders', order('o-2', { currency: 'USD', coupon: 'VIP25', lines: [{ sku: 'desk', quantity: 1, unitPrice: 240 }] }))],
  ['api', 0, http('POST', '/orders', order('o-1'))],
  ['api', 0, http('GET', '/orders/o-1')],
  ['api', 1, http('GET', '/orders/o-1')],
  ['api', 0, http('POST', '/orders', '{not json')],
  ['api', 1, http('POST', '/orders', { id: 'o-3', customerId: 'c-1', lines: [] })],
  ['api', 1, http('POST', '/orders', order('o-4', { lines: [{ sku: 'pen', quantity: 0, unitPrice: 1 }] }))],
  ['api', 0, http('DELETE', '/orders/o-1')],
  ['queue', 0, sqs(order('q-1'), order('q-2', { coupon: 'WELCOME10' }), '{"id":"broken"}')],
  ['queue', 0, sqs('not json', { id: 'q-3' })],
  ['nightly', 0, { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: { dryRun: true } }],
];
