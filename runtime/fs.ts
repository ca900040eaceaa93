/**
 * node:fs for the layer's modules. An ESM `import … from 'node:fs'` builds the module's whole
 * namespace (and loads fs/promises), ~10 ms on a cold start or a first deferred response; the builtin
 * itself is already loaded, so it is taken from the process instead.
 */
export const fs = process.getBuiltinModule('node:fs');
