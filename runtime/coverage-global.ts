/**
 * The name of the global an instrumented bundle counts into. One owner for both halves: the plugin
 * bakes it into every file at build time and the runtime reads it after each invocation, so the two
 * cannot disagree (as vitest's one COVERAGE_STORE_KEY serves its build and run halves). It is not an
 * option: a bundle counting into another global would be invisible to the layer.
 */
export const COVERAGE_GLOBAL = '__coverage__';
