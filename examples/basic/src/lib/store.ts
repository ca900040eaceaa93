/** An in-memory store standing in for a database table (kept per container, as a real cache would be). */
import type { Order } from './orders.js';

export interface StoredOrder extends Order {
  total: number;
  status: 'accepted' | 'shipped' | 'cancelled';
  createdAt: number;
}

const orders = new Map<string, StoredOrder>();

export function save(order: StoredOrder): 'created' | 'duplicate' {
  if (orders.has(order.id)) return 'duplicate';
  orders.set(order.id, order);
  return 'created';
}

export function find(id: string): StoredOrder | undefined {
  return orders.get(id);
}

export function all(): StoredOrder[] {
  return [...orders.values()];
}

export function remove(id: string): boolean {
  return orders.delete(id);
}
