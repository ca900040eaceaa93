/** What an upload path offers the collector: put an object, and tell whether one exists. */
export interface PutOptions { contentType: string; signal: AbortSignal }

export interface ObjectStore {
  put(key: string, body: Uint8Array, options: PutOptions): Promise<void>;
  /** true: exists; false: does not exist; undefined: cannot tell (no permission to list). */
  exists(key: string, signal: AbortSignal): Promise<boolean | undefined>;
}
