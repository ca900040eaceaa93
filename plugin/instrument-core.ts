/**
 * The instrument step: original source text in, instrumented source (still TypeScript / JSX) with an
 * inline source map out. No file system, no esbuild: it runs the same on the main thread and in a
 * worker thread.
 *
 * One Babel pass with parser plugins only (no syntax transform), so esbuild still does every TS
 * semantic, and istanbul-lib-instrument's programVisitor for the counting. In lean mode the coverage
 * initializer the visitor emits is replaced by a counters-only literal; the static maps are returned
 * for the build manifest instead.
 */
import { basename } from 'node:path';
import babel from '@babel/core';
import type { NodePath, PluginObj, types as BabelTypes } from '@babel/core';
import istanbul from 'istanbul-lib-instrument';
import type { ProgramVisitorResult } from 'istanbul-lib-instrument';
import { COVERAGE_GLOBAL } from '../runtime/coverage-global.js';
import type { FileMaps } from '../contract/format.js';
import { compactIncrements, shiftMappings, shortName } from './compact-counters.js';
import type { DecoratorsFlavor } from './options.js';
import { InstrumentError, LEAN_HELPER_GLOBAL, type CodeLoader, type Instrumented } from './instrumented.js';
import type { InstrumentRequest, InstrumentSpec } from './request.js';

export { InstrumentError, LEAN_HELPER, LEAN_HELPER_GLOBAL, withInlineMap } from './instrumented.js';
export type { CodeLoader, Instrumented, SourceLocation } from './instrumented.js';
export type { InstrumentRequest, InstrumentSpec } from './request.js';

interface CoverageState {
  /** The Babel plugin's options are the file's spec itself: it reads nothing the cache key lacks. */
  opts: InstrumentSpec;
  file: { metadata: Record<string, unknown> };
  visitor?: ReturnType<typeof istanbul.programVisitor>;
}

/** Finds `var NAME = …` among the statements of the coverage function the visitor inserted. */
function findDeclarator(fn: BabelTypes.FunctionDeclaration, name: string): BabelTypes.VariableDeclarator | undefined {
  for (const stmt of fn.body.body) {
    if (stmt.type !== 'VariableDeclaration') continue;
    for (const d of stmt.declarations) {
      if (d.id.type === 'Identifier' && d.id.name === name) return d;
    }
  }
  return undefined;
}

/** Stands where the lean coverage function goes until the code is printed (see leanFunction). */
const LEAN_PLACEHOLDER = '__lambda_coverage_lean_init__';

/**
 * The lean coverage function of one file, one line of text, as small as possible: on its first call
 * it replaces itself with the helper's accessor. It takes the place of a one-line placeholder after
 * Babel prints the code, so the source map's lines stay exact.
 */
export function leanFunction(name: string, cov: ProgramVisitorResult['fileCoverage'], hash: string): string {
  const arms = Object.values(cov.b).map((a) => a.length);
  const args = [JSON.stringify(COVERAGE_GLOBAL), JSON.stringify(cov.path), JSON.stringify(hash), Object.keys(cov.s).length, Object.keys(cov.f).length, `[${arms.join(',')}]`];
  // As short as possible: every file's function is compiled at cold start (an explicit "no helper"
  // check here cost ~9% of the rxjs bundle's load). Without the helper the call fails with
  // "globalThis.__lambdaCoverageLean1 is not a function", which docs/plugin.md explains.
  return `function ${name}(k,i,j){return(${name}=globalThis.${LEAN_HELPER_GLOBAL}(${args.join(',')}))(k,i,j)}`;
}

/** The Babel plugin: programVisitor around the Program, and the lean rewrite at its exit. */
function coveragePlugin({ types: t }: { types: typeof BabelTypes }): PluginObj<CoverageState> {
  return {
    name: 'lambda-coverage',
    visitor: {
      Program: {
        enter(path: NodePath<BabelTypes.Program>) {
          this.visitor = istanbul.programVisitor(t, this.opts.key, {
            coverageVariable: COVERAGE_GLOBAL,
            coverageGlobalScope: 'globalThis',
            coverageGlobalScopeFunc: false,
            ignoreClassMethods: [...this.opts.ignoreClassMethods],
          });
          this.visitor.enter(path);
        },
        exit(path: NodePath<BabelTypes.Program>) {
          const result = this.visitor?.exit(path);
          const first = path.node.body[0];
          // No coverage function inserted: `istanbul ignore file`, or the file was instrumented already.
          if (!result || first?.type !== 'FunctionDeclaration') {
            this.file.metadata.lambdaCoverage = null;
            return;
          }
          const hashInit = findDeclarator(first, 'hash')?.init;
          const dataDecl = findDeclarator(first, 'coverageData');
          if (hashInit?.type !== 'StringLiteral' || !dataDecl) {
            throw new Error('istanbul-lib-instrument emitted an unexpected coverage initializer; this version is not supported');
          }
          const cov = result.fileCoverage;
          const maps: FileMaps = {
            path: cov.path,
            hash: hashInit.value,
            statementMap: cov.statementMap as FileMaps['statementMap'],
            fnMap: cov.fnMap as FileMaps['fnMap'],
            branchMap: cov.branchMap as FileMaps['branchMap'],
          };
          this.file.metadata.lambdaCoverage = maps;
          if (this.opts.lean && first.id) {
            this.file.metadata.lambdaCoverageLean = leanFunction(first.id.name, cov, hashInit.value);
            this.file.metadata.lambdaCoverageName = first.id.name;
            path.node.body[0] = t.expressionStatement(t.identifier(LEAN_PLACEHOLDER));
          }
        },
      },
    },
  };
}

/** Babel parser plugins for one file: TS and JSX syntax kept as they are, never transformed. */
export function parserPlugins(loader: CodeLoader, decorators: DecoratorsFlavor): babel.ParserOptions['plugins'] {
  const plugins: NonNullable<babel.ParserOptions['plugins']> = [];
  if (loader === 'ts' || loader === 'tsx') plugins.push('typescript');
  // `<number>x` casts are JSX under the jsx plugin: only .tsx/.jsx get it.
  if (loader === 'tsx' || loader === 'jsx') plugins.push('jsx');
  plugins.push(decorators === 'legacy' ? 'decorators-legacy' : 'decorators', 'decoratorAutoAccessors');
  return plugins;
}

interface BabelParseError extends Error {
  code?: string;
  reasonCode?: string;
  loc?: { line: number; column: number };
}

function isParseError(e: unknown): e is BabelParseError {
  return e instanceof Error && ((e as BabelParseError).code === 'BABEL_PARSE_ERROR' || (e as BabelParseError).reasonCode !== undefined);
}

/** Babel's message without the file name prefix and the code frame. */
function shortMessage(e: Error, filename: string): string {
  let m = e.message.split('\n')[0] ?? e.message;
  if (m.startsWith(`${filename}: `)) m = m.slice(filename.length + 2);
  return m;
}

/**
 * Comments that mean something to esbuild are kept: legal comments (`/*!`, `@license`, `@preserve`),
 * annotations (`@__PURE__`, `#__NO_SIDE_EFFECTS__`, …), JSX pragmas, source map links, bundler hints
 * in `import()`. The rest (JSDoc, notes) is left out of the code handed to esbuild, which would only
 * scan it: on rxjs that is 870 -> 490 KB and ~15% of esbuild's CPU time on a warm build.
 */
export function significantComment(value: string): boolean {
  return /^\*?!|@license|@preserve|[@#]__[A-Z_]+__|@jsx|[@#] source(?:Mapping)?URL=|webpack|@vite-ignore/.test(value);
}

/**
 * One Babel pass. Its output depends on `req.spec` and `req.code` only (request.ts): `filename` is
 * given to Babel for its messages, and the source map names the file by the last segment of its key.
 */
async function transformOnce(req: InstrumentRequest, decorators: DecoratorsFlavor): Promise<Instrumented> {
  const { spec } = req;
  const result = await babel.transformAsync(req.code, {
    filename: req.filename,
    sourceFileName: basename(spec.key),
    configFile: false,
    babelrc: false,
    browserslistConfigFile: false,
    sourceType: 'unambiguous',
    sourceMaps: spec.sourceMap,
    // A file's own sourceMappingURL comment is not followed: locations are those of the text we read.
    inputSourceMap: false as unknown as undefined,
    compact: false,
    comments: true,
    shouldPrintComment: significantComment,
    ast: false,
    parserOpts: {
      plugins: parserPlugins(spec.loader, decorators),
      allowReturnOutsideFunction: true,
      allowAwaitOutsideFunction: true,
      allowUndeclaredExports: true,
    },
    plugins: [[coveragePlugin, spec]],
  });
  if (!result?.code) throw new InstrumentError(`Babel returned no code for ${req.filename}`, req.filename);
  const maps = (result.metadata as Record<string, unknown> | undefined)?.lambdaCoverage as FileMaps | null | undefined;
  if (maps === null || maps === undefined) return { code: req.code, map: '', maps: null };
  if (spec.sourceMap && !result.map) throw new InstrumentError(`Babel returned no source map for ${req.filename}`, req.filename);
  let code = result.code;
  const lean = (result.metadata as unknown as Record<string, unknown> | undefined)?.lambdaCoverageLean;
  if (typeof lean === 'string') {
    const at = code.indexOf(`${LEAN_PLACEHOLDER};`);
    if (at === -1) throw new InstrumentError(`lean coverage placeholder missing in the output for ${req.filename}`, req.filename);
    code = code.slice(0, at) + lean + code.slice(at + LEAN_PLACEHOLDER.length + 1);
    const name = (result.metadata as unknown as Record<string, unknown>).lambdaCoverageName as string;
    const compact = compactIncrements(code, name, shortName(req.code, name));
    code = compact.code;
    if (result.map) result.map = { ...result.map, mappings: shiftMappings(result.map.mappings, compact.edits) };
  }
  return { code, map: result.map ? JSON.stringify({ ...result.map, sourcesContent: [req.code] }) : '', maps };
}

/**
 * Instruments one file. A syntax error becomes an InstrumentError with the line and column of the
 * original text. A parse failure is retried once with the other decorators flavor, since a tsconfig
 * can be misread and the two syntaxes differ (parameter decorators, `@dec export`).
 */
export async function instrumentSource(req: InstrumentRequest): Promise<Instrumented> {
  try {
    return await transformOnce(req, req.spec.decorators);
  } catch (first) {
    if (isParseError(first) && req.code.includes('@')) {
      try {
        return await transformOnce(req, req.spec.decorators === 'legacy' ? 'standard' : 'legacy');
      } catch {
        // Report the error of the flavor the tsconfig asked for.
      }
    }
    throw toInstrumentError(first, req);
  }
}

function toInstrumentError(e: unknown, req: InstrumentRequest): InstrumentError {
  if (e instanceof InstrumentError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  if (isParseError(err) && err.loc) {
    const lineText = req.code.split(/\r\n|\r|\n/)[err.loc.line - 1] ?? '';
    return new InstrumentError(
      `could not parse ${req.spec.key}: ${shortMessage(err, req.filename)}`,
      req.filename,
      { line: err.loc.line, column: err.loc.column, lineText },
      { cause: err },
    );
  }
  return new InstrumentError(`could not instrument ${req.spec.key}: ${shortMessage(err, req.filename)}`, req.filename, undefined, { cause: err });
}
