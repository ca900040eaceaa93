export interface ContainerOptions {
  /** The function's code directory (LAMBDA_TASK_ROOT). */
  taskRoot: string;
  /** The layers' directory, laid out as /opt (extensions/ in it are started as external extensions). */
  optDir?: string;
  /** The function's handler setting (_HANDLER), e.g. "index.handler". */
  handler: string;
  /** Function environment variables (AWS_LAMBDA_EXEC_WRAPPER, NODE_OPTIONS, COVERAGE_*, credentials…). */
  env?: Record<string, string>;
  /** 'ric': AWS's aws-lambda-ric (throws if it cannot load); 'auto': falls back to the pure-JS loop; 'js': the loop. */
  runtime?: 'ric' | 'auto' | 'js';
  functionName?: string;
  functionVersion?: string;
  memoryMb?: number;
  /** Function timeout: sets Lambda-Runtime-Deadline-Ms; past it the sandbox is killed. @default 30000 */
  timeoutMs?: number;
  /** SIGSTOP the processes between invoke phases, as Lambda freezes a sandbox. @default false */
  freeze?: boolean;
  /** Refuse INVOKE extension subscriptions, as Lambda Managed Instances do. */
  managedInstances?: boolean;
  /** Time given to the runtime and extensions at shutdown before SIGKILL. @default 2000 */
  shutdownMs?: number;
  initTimeoutMs?: number;
  /** Reuse this directory as the sandbox's /tmp (a runtime restarted in the same sandbox keeps /tmp). */
  tmpDir?: string;
  /** Print the processes' output on stderr. */
  echo?: boolean;
  region?: string;
  /** Directory of another aws-lambda-ric package to run (e.g. 4.x, the nodejs24.x client). @default the project's */
  ricDir?: string;
  /** AWS_EXECUTION_ENV (aws-lambda-ric 4 words its callback-handler error by it). @default "AWS_Lambda_nodejs22.x" */
  executionEnv?: string;
}

export interface InvokeResult {
  ok: boolean;
  requestId: string;
  /** Parsed JSON of the response (or of the error). */
  payload: any;
  /** Raw response body (streamed responses: the bytes written to the stream). */
  body: string;
  errorType?: string;
  streamed: boolean;
  timedOut?: boolean;
  /** Client-side latency: from invoke() to the response. */
  latencyMs: number;
  /** Resolves (with Date.now()) when the invoke phase ends: the runtime and INVOKE extensions are ready again. */
  phaseEnd: Promise<number>;
}

export interface Container {
  kind: 'ric' | 'js';
  runtimeApi: string;
  sandbox: string;
  /** The sandbox's /tmp (TMPDIR of its processes). */
  tmpDir: string;
  logs: { source: string; line: string }[];
  /** Whole init: extensions registered, runtime and extensions ready (ms). */
  readonly initMs: number | undefined;
  /** Runtime init alone: from its spawn to its first /invocation/next (ms). */
  readonly runtimeInitMs: number | undefined;
  readonly dead: { errorType: string; errorMessage: string } | null;
  readonly pids: { name: string; pid: number | undefined; exited: { code: number | null; signal: string | null } | null }[];
  /** Resolves when init finished (runtime and extensions asked for their first event); rejects on init failure. */
  initDone: Promise<void>;
  invoke(event: unknown, options?: { clientContext?: unknown }): Promise<InvokeResult>;
  idle(): Promise<void>;
  lines(source?: string): string[];
  jsonLines(source?: string): Record<string, any>[];
  shutdown(options?: { keepSandbox?: boolean }): Promise<{ timedOut: boolean; exits: { name: string; code?: number | null; signal?: string | null }[] }>;
}

export declare function startContainer(options: ContainerOptions): Promise<Container>;
export declare function ricAvailable(): { ok: true; entry: string } | { ok: false; reason: string };
export declare function nodeBinary(): string;
