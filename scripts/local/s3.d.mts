export declare const LOCAL_CREDENTIALS: { accessKeyId: string; secretAccessKey: string };
export declare const LOCAL_REGION: string;
export interface LocalS3 { endpoint: string; port: number; directory: string; stop(): Promise<void> }
export declare function startLocalS3(options?: { buckets?: string[]; port?: number; directory?: string }): Promise<LocalS3>;
export declare function localS3Env(endpoint: string): Record<string, string>;
