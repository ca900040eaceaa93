export declare function runDemo(options?: {
  work?: string;
  out?: string;
  log?: (line: string) => void;
  runtime?: 'auto' | 'ric' | 'js';
}): Promise<{ out: string; health: Record<string, any>; ok: number; failed: number; combined: string; lambdaReport: string }>;
