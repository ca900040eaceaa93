/** Order validation and pricing shared by the API and the queue worker. */
export type Currency = 'EUR' | 'USD';

export interface OrderLine {
  sku: string;
  quantity: number;
  unitPrice: number;
}

export interface Order {
  id: string;
  customerId: string;
  currency: Currency;
  lines: OrderLine[];
  coupon?: string;
}

export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(public readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

const COUPONS: Record<string, number> = { WELCOME10: 0.1, VIP25: 0.25 };

export function parseOrder(input: unknown): Order {
  if (typeof input !== 'object' || input === null) throw new ValidationError('body', 'must be a JSON object');
  const o = input as Record<string, unknown>;
  if (typeof o.id !== 'string' || o.id.length === 0) throw new ValidationError('id', 'is required');
  if (typeof o.customerId !== 'string') throw new ValidationError('customerId', 'is required');
  const currency = o.currency ?? 'EUR';
  if (currency !== 'EUR' && currency !== 'USD') throw new ValidationError('currency', 'must be EUR or USD');
  if (!Array.isArray(o.lines) || o.lines.length === 0) throw new ValidationError('lines', 'must not be empty');
  const lines = o.lines.map((line, i) => parseLine(line, i));
  const coupon = typeof o.coupon === 'string' ? o.coupon : undefined;
  return { id: o.id, customerId: o.customerId, currency, lines, coupon };
}

function parseLine(input: unknown, index: number): OrderLine {
  const l = (input ?? {}) as Record<string, unknown>;
  if (typeof l.sku !== 'string') throw new ValidationError(`lines[${index}].sku`, 'is required');
  if (!Number.isInteger(l.quantity) || (l.quantity as number) <= 0) {
    throw new ValidationError(`lines[${index}].quantity`, 'must be a positive integer');
  }
  if (typeof l.unitPrice !== 'number' || l.unitPrice < 0) {
    throw new ValidationError(`lines[${index}].unitPrice`, 'must be a non-negative number');
  }
  return { sku: l.sku, quantity: l.quantity as number, unitPrice: l.unitPrice };
}

export function totalOf(order: Order): number {
  const gross = order.lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0);
  const discount = order.coupon ? (COUPONS[order.coupon] ?? 0) : 0;
  const net = gross * (1 - discount);
  // Shipping is free above 100 in either currency.
  const shipping = net >= 100 ? 0 : order.currency === 'USD' ? 7 : 5;
  return Math.round((net + shipping) * 100) / 100;
}
