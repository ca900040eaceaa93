/**
 * The SigV4 signer of the light upload path (s3-light.ts): `aws4` (npm), re-exported from one module
 * so that `npm run build` can replace this file's output with a self-contained ESM bundle of aws4
 * (scripts/build.mjs): the layer ships no node_modules, and an ESM bundle of the runtime gets no
 * CommonJS `require` of node builtins from it.
 *
 * Why aws4 and not @smithy/signature-v4 from the runtime's own SDK (which would cost nothing to ship):
 * measured side by side in plain Node 22 processes (`npm run bench -- runtime`, "signers alone"), the
 * first signed PUT takes ~20 ms with aws4 and ~50 ms with @smithy/signature-v4 (it loads @smithy/core
 * with its hash and encoding modules), the SDK client ~140 ms; added RSS +10 MB, +13 MB, +22 MB. aws4
 * is 15 KB with no dependencies, widely used and maintained (the signer behind aws4fetch).
 */
import aws4 from 'aws4';

export interface Credentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

export interface SignRequest {
  service: string;
  region: string;
  method: string;
  host: string;
  /** Already encoded as it goes on the wire. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** Adds Authorization, X-Amz-Date, X-Amz-Content-Sha256 (of the body) and X-Amz-Security-Token. */
export const sign = aws4.sign as (request: SignRequest, credentials: Credentials) => SignRequest & { headers: Record<string, string | number> };
