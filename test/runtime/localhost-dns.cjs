// Preload (NODE_OPTIONS=--require) for a local Lambda sandbox: names under .localhost resolve to
// 127.0.0.1, as RFC 6761 asks of resolvers (systemd-resolved and browsers do; this machine's glibc
// does not), so a virtual-hosted request to <bucket>.localhost:<port> reaches the local S3 proxy.
// Node's net module calls dns.lookup through the module object, so replacing it here is enough.
'use strict';
const dns = require('node:dns');
const lookup = dns.lookup;
dns.lookup = function lookupLocalhost(hostname, options, callback) {
  if (typeof hostname !== 'string' || !hostname.endsWith('.localhost')) return lookup.apply(this, arguments);
  const cb = typeof options === 'function' ? options : callback;
  const all = typeof options === 'object' && options !== null && options.all === true;
  process.nextTick(() => (all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)));
  return {};
};
