/** Writing the plugin's files beside the bundle so that a reader (the layer, another build) never sees one half-written. */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Writes `bytes` to a temporary file beside `file`, then renames it over `file`. */
export async function replaceFile(file: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(bytes);
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}
