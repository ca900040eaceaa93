// The fixed events `npm run demo` sends, and the container each goes to. Some fail on purpose.
// The demo test replays the same list in one process to check the combined numbers.

/** @param {string} method @param {string} rawPath @param {unknown} [body] @param {Record<string, string>} [headers] */
const http = (method, rawPath, body, headers = {}) => ({
  version: '2.0',
  routeKey: `${method} ${rawPath}`,
  rawPath,
  rawQueryString: '',
  headers: { 'content-type': 'application/json', ...headers },
  requestContext: { http: { method, path: rawPath }, requestId: 'demo' },
  body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  isBase64Encoded: false,
});

// How an end-to-end test says which test it is (docs/runtime.md, "Per-test coverage"): a header, or a
// W3C baggage member where OpenTelemetry baggage is propagated already.
/** @param {string} test */
const header = (test) => ({ 'x-lambda-coverage-test': test });
/** @param {string} test */
const baggage = (test) => ({ baggage: `session=demo,lambda-coverage.test=${encodeURIComponent(test)}` });

/** SQS records, each naming its test in the message attribute. @param {string} test @param {...unknown} bodies */
const sqs = (test, ...bodies) => ({
  Records: bodies.map((body, i) => ({
    messageId: `m-${i}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    messageAttributes: { 'lambda-coverage-test': { stringValue: test, dataType: 'String' } },
  })),
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
 * [function, container index, event, { test, clientContext }] in the order they are sent. `test` is the
 * test the event names (null: untagged); `clientContext` goes with a direct invocation, as
 * `aws lambda invoke --client-context` sends it. Each test creates what it reads, so running one
 * test's events alone covers what they cover here (test/demo/demo.test.ts checks that).
 * @type {[string, number, any, { test: string | null, clientContext?: unknown }][]}
 */
export const EVENTS = [
  ['api', 0, http('POST', '/orders', order('o-1'), header('orders/create')), { test: 'orders/create' }],
  ['api', 1, http('POST', '/orders', order('o-2', { currency: 'USD', coupon: 'VIP25', lines: [{ sku: 'desk', quantity: 1, unitPrice: 240 }] }), header('orders/create')), { test: 'orders/create' }],
  ['api', 0, http('POST', '/orders', order('o-5'), header('orders/duplicate')), { test: 'orders/duplicate' }],
  ['api', 0, http('POST', '/orders', order('o-5'), header('orders/duplicate')), { test: 'orders/duplicate' }],
  ['api', 1, http('POST', '/orders', order('o-6'), baggage('orders/read')), { test: 'orders/read' }],
  ['api', 1, http('GET', '/orders/o-6', undefined, baggage('orders/read')), { test: 'orders/read' }],
  ['api', 0, http('GET', '/orders/o-404', undefined, baggage('orders/read')), { test: 'orders/read' }],
  ['api', 0, http('POST', '/orders', '{not json', header('orders/invalid')), { test: 'orders/invalid' }],
  ['api', 1, http('POST', '/orders', { id: 'o-3', customerId: 'c-1', lines: [] }, header('orders/invalid')), { test: 'orders/invalid' }],
  ['api', 1, http('POST', '/orders', order('o-4', { lines: [{ sku: 'pen', quantity: 0, unitPrice: 1 }] }), header('orders/invalid')), { test: 'orders/invalid' }],
  ['api', 0, http('DELETE', '/orders/o-1'), { test: null }],
  ['queue', 0, sqs('queue/batch', order('q-1'), order('q-2', { coupon: 'WELCOME10' }), '{"id":"broken"}'), { test: 'queue/batch' }],
  ['queue', 0, sqs('queue/batch', 'not json', { id: 'q-3' }), { test: 'queue/batch' }],
  ['nightly', 0, { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: { dryRun: true } },
    { test: 'nightly/dry-run', clientContext: { custom: { 'lambda-coverage-test': 'nightly/dry-run' } } }],
];
