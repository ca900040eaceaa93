/** Errors of the merge core, shared by its parts. */

/** An input was refused as a whole; `source` names it (S3 key or file) and `reason` says why. */
export class InputRejectedError extends Error {
  override name = 'InputRejectedError';
  constructor(readonly source: string, readonly reason: string, options?: ErrorOptions) {
    super(`${source}: ${reason}`, options);
  }
}
