/** Scheduled (EventBridge) job: cancels stale accepted orders and reports what it did. */
import type { ScheduledEvent } from 'aws-lambda';
import { all, remove } from '../lib/store.js';

const STALE_AFTER_MS = 24 * 60 * 60 * 1000;

export interface NightlyReport {
  checked: number;
  cancelled: string[];
  dryRun: boolean;
}

export async function handler(event: ScheduledEvent<{ dryRun?: boolean; now?: number }>): Promise<NightlyReport> {
  const now = event.detail?.now ?? Date.now();
  const dryRun = event.detail?.dryRun === true;
  const cancelled: string[] = [];
  for (const order of all()) {
    if (order.status !== 'accepted') continue;
    if (now - order.createdAt < STALE_AFTER_MS) continue;
    cancelled.push(order.id);
    if (!dryRun) remove(order.id);
  }
  return { checked: all().length, cancelled, dryRun };
}
