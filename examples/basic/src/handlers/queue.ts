/** SQS batch handler with partial batch responses: bad messages are reported, good ones processed. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseOrder, totalOf } from '../lib/orders.js';
import { save } from '../lib/store.js';

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      const order = parseOrder(JSON.parse(record.body));
      save({ ...order, total: totalOf(order), status: 'accepted', createdAt: Date.now() });
    } catch {
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  if (batchItemFailures.length === event.Records.length && event.Records.length > 0) {
    // Nothing in the batch could be processed: fail loudly so the queue's redrive policy applies.
    throw new Error(`all ${event.Records.length} messages in the batch failed`);
  }
  return { batchItemFailures };
}
