/**
 * One JSON line per event on stdout (CloudWatch keeps it as one record). Problems are logged once per
 * kind and counted for the health check; nothing here ever throws.
 */
export interface LoggedError {
  kind: string;
  message: string;
  count: number;
  first_at: string;
  last_at: string;
}

export type Write = (line: string) => void;

const defaultWrite: Write = (line) => {
  try { process.stdout.write(line + '\n'); } catch { /* stdout closed: nothing to do */ }
};

export class CoverageLog {
  readonly errors = new Map<string, LoggedError>();

  constructor(private readonly write: Write = defaultWrite, public debugEnabled = false) {}

  line(level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR', message: string, fields: Record<string, unknown> = {}): void {
    try {
      this.write(JSON.stringify({ level, source: 'lambda-coverage', message, ...fields, timestamp: new Date().toISOString() }));
    } catch { /* a field that cannot be serialized must not break the function */ }
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    if (this.debugEnabled) this.line('DEBUG', message, fields);
  }

  /** Logs the first occurrence of each kind; later ones only count (health shows them). */
  problem(kind: string, message: string, fields: Record<string, unknown> = {}): void {
    const now = new Date().toISOString();
    const seen = this.errors.get(kind);
    if (seen !== undefined) {
      seen.count++;
      seen.last_at = now;
      seen.message = message;
      return;
    }
    this.errors.set(kind, { kind, message, count: 1, first_at: now, last_at: now });
    this.line('WARN', message, { kind, ...fields });
  }

  /** Clears a kind once the condition is gone (a healed upload), so health reflects the present. */
  resolve(kind: string): void {
    this.errors.delete(kind);
  }

  resolvePrefix(prefix: string): void {
    for (const k of [...this.errors.keys()]) if (k.startsWith(prefix)) this.errors.delete(k);
  }
}
