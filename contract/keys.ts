/**
 * The S3 layout, the contract between the runtime (writer) and the combiner (reader), in both
 * directions (keys built from names, and names parsed from keys):
 *   {prefix}{functionName}/shards/{containerId}.json.gz   cumulative counters of one container (overwritten)
 *   {prefix}{functionName}/maps/{mapId}.json.gz           static maps the shards point at (written once)
 *   {prefix}{functionName}/sources/{mapId}.json.gz        source text of those files (written with the maps,
 *                                                          only for builds made with `sources: true`)
 *   {prefix}{functionName}/health/probe.json              the deep health check's write
 *   {prefix}combined/{runId}/…                             combiner output (never read back as input)
 * Pure.
 */

/** `coverage/` stays, `coverage` becomes `coverage/`, `` and `/` become ``. */
export function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

/** S3 keys may not be built from unvetted strings: names become one safe path segment. */
export function keySegment(value: string): string {
  const s = value.replace(/[^A-Za-z0-9._=-]/g, '_').replace(/^\.+/, '_');
  return s === '' ? '_' : s.slice(0, 200);
}

export function shardKey(prefix: string, functionName: string, containerId: string): string {
  return `${normalizePrefix(prefix)}${keySegment(functionName)}/shards/${keySegment(containerId)}.json.gz`;
}

export function mapsKey(prefix: string, functionName: string, mapId: string): string {
  return `${normalizePrefix(prefix)}${keySegment(functionName)}/maps/${keySegment(mapId)}.json.gz`;
}

/**
 * The sources document of a build (the plugin's `sources: true`): beside its maps, under the same id,
 * so that whatever finds a build's maps finds its source text the same way.
 */
export function sourcesKey(prefix: string, functionName: string, mapId: string): string {
  return `${normalizePrefix(prefix)}${keySegment(functionName)}/sources/${keySegment(mapId)}.json.gz`;
}

/** Where the combiner writes: `{prefix}combined/`, never read back as input. */
export function combinedRoot(prefix: string): string {
  return `${normalizePrefix(prefix)}combined/`;
}

export function combinedPrefix(prefix: string, runId: string): string {
  return `${combinedRoot(prefix)}${keySegment(runId)}/`;
}

/** The object the deep health check writes to prove the function can write to its prefix. */
export function probeKey(prefix: string, functionName: string): string {
  return `${normalizePrefix(prefix)}${keySegment(functionName)}/health/probe.json`;
}

/** `{prefix}{fn}/shards/x.json.gz` → `{prefix}{fn}/maps/{mapId}.json.gz`: maps sit beside their shards. */
export function mapsKeyNear(shardKeyOrPath: string, mapId: string): string {
  const parts = shardKeyOrPath.split('/');
  const dir = parts.slice(0, -2).join('/');
  return `${dir === '' ? '' : `${dir}/`}maps/${keySegment(mapId)}.json.gz`;
}

/** `{prefix}{fn}/shards/x.json.gz` → `{prefix}{fn}/sources/{mapId}.json.gz`, as mapsKeyNear. */
export function sourcesKeyNear(shardKeyOrPath: string, mapId: string): string {
  const parts = shardKeyOrPath.split('/');
  const dir = parts.slice(0, -2).join('/');
  return `${dir === '' ? '' : `${dir}/`}sources/${keySegment(mapId)}.json.gz`;
}

/** The function a key names when it is a shard key under `prefix` (`{prefix}{fn}/shards/x.json[.gz]`). */
export function parseShardKey(prefix: string, key: string): { functionName: string } | undefined {
  const p = normalizePrefix(prefix);
  if (!key.startsWith(p)) return undefined;
  const parts = key.slice(p.length).split('/');
  if (parts.length !== 3 || parts[0] === '' || parts[1] !== 'shards' || !/^[^/]+\.json(\.gz)?$/.test(parts[2]!)) return undefined;
  return { functionName: parts[0]! };
}
