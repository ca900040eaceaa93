// The layer's version as health reports it: package.json's, held equal to it by test/plugin/package.test.ts
// (a constant rather than a read of package.json, which a function's own bundle does not carry).
export const LAYER_VERSION = '0.1.0';
