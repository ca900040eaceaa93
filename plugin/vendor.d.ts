// Types for the parts of untyped dependencies the plugin uses.
declare module 'istanbul-lib-instrument' {
  import type { types as BabelTypes, NodePath } from '@babel/core';
  export interface ProgramVisitorOptions {
    coverageVariable?: string;
    reportLogic?: boolean;
    coverageGlobalScope?: string;
    coverageGlobalScopeFunc?: boolean;
    ignoreClassMethods?: string[];
    inputSourceMap?: object;
  }
  export interface ProgramVisitorResult {
    fileCoverage: {
      path: string;
      statementMap: Record<string, unknown>;
      fnMap: Record<string, unknown>;
      branchMap: Record<string, unknown>;
      s: Record<string, number>;
      f: Record<string, number>;
      b: Record<string, number[]>;
    };
    sourceMappingURL: string | null;
  }
  export function programVisitor(
    types: typeof BabelTypes,
    sourceFilePath?: string,
    opts?: ProgramVisitorOptions,
  ): { enter(path: NodePath): void; exit(path: NodePath): ProgramVisitorResult | undefined };
  /** Classic instrumenter (used by tests to make reference coverage). */
  export function createInstrumenter(opts?: ProgramVisitorOptions & { esModules?: boolean }): {
    instrumentSync(code: string, filename: string): string;
  };
  const lib: { programVisitor: typeof programVisitor; createInstrumenter: typeof createInstrumenter };
  export default lib;
}

declare module 'test-exclude' {
  interface TestExcludeOptions {
    cwd?: string;
    include?: string[] | false;
    exclude?: string[];
    extension?: string[] | false;
    excludeNodeModules?: boolean;
    relativePath?: boolean;
  }
  class TestExclude {
    constructor(opts?: TestExcludeOptions);
    shouldInstrument(filename: string, relFile?: string): boolean;
  }
  export default TestExclude;
}
