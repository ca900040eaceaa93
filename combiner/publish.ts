/**
 * What a combine publishes beyond its local reports: the report files uploaded to S3, and the merged
 * result written back as a shard (to S3 or a file) so it can be combined again.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { encodeJsonGz, keySegment, mapsKeyNear, type MapsDocument, type Shard } from '../contract/format.js';
import { toKeySuffix } from './paths.js';
import { putObject, type RetryOptions } from './s3.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.json': 'application/json',
  '.png': 'image/png', '.xml': 'application/xml', '.info': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
  '.gz': 'application/gzip',
};

function contentType(file: string): string {
  const m = /\.[^./]+$/.exec(file);
  return (m && CONTENT_TYPES[m[0]]) ?? 'application/octet-stream';
}

async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

/** `s3://bucket/key` → its parts; null for anything else (a local path). */
export function parseS3Url(u: string): { bucket: string; key: string } | null {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(u);
  return m ? { bucket: m[1]!, key: m[2]! } : null;
}

/** The report files, each under `prefix` at its path below `out`, with its content type. */
export async function uploadReports(client: S3Client, bucket: string, prefix: string, out: string, files: string[], concurrency: number, retry: RetryOptions): Promise<{ bucket: string; prefix: string; keys: string[] }> {
  const keys: string[] = [];
  await pool(files, concurrency, async (file) => {
    const key = `${prefix}${toKeySuffix(out, file)}`;
    await putObject(client, bucket, key, await readFile(file), contentType(file), retry);
    keys.push(key);
  });
  return { bucket, prefix, keys: keys.sort() };
}

/**
 * The merged result as a shard: to `s3://bucket/key` (maps beside it, `…/maps/{mapId}.json.gz`) or
 * to a local file (maps in `maps/` next to it, or next to its `shards/` folder).
 */
export async function writeAsShard(doc: { shard: Shard; maps: MapsDocument }, target: string, ctx: { cwd: string; client: S3Client | undefined; retry: RetryOptions }): Promise<{ shard: string; maps: string }> {
  const s3 = parseS3Url(target);
  if (s3 && ctx.client) {
    const mapsKey = mapsKeyNear(s3.key, doc.maps.mapId);
    await putObject(ctx.client, s3.bucket, mapsKey, encodeJsonGz(doc.maps), 'application/gzip', ctx.retry);
    await putObject(ctx.client, s3.bucket, s3.key, encodeJsonGz(doc.shard), 'application/gzip', ctx.retry);
    return { shard: target, maps: `s3://${s3.bucket}/${mapsKey}` };
  }
  const file = resolve(ctx.cwd, target);
  const mapsDir = basename(dirname(file)) === 'shards' ? join(dirname(dirname(file)), 'maps') : join(dirname(file), 'maps');
  const mapsFile = join(mapsDir, `${keySegment(doc.maps.mapId)}.json.gz`);
  await mkdir(mapsDir, { recursive: true });
  await writeFile(mapsFile, encodeJsonGz(doc.maps));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, encodeJsonGz(doc.shard));
  return { shard: file, maps: mapsFile };
}

/** Removes a directory the caller made for one run (the Lambda handler's /tmp folder). */
export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
