/** The codec's one error: a document that is not what the contract says, or over a bound of its reader. */
export class ShardFormatError extends Error {
  override name = 'ShardFormatError';
}
