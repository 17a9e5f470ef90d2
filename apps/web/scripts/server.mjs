#!/usr/bin/env node
// The console's HTTP server: `next start`, except that the TCP peer is appended to X-Forwarded-For.
// `next start` sets that header to the peer only when it is absent, so a client could write any address
// there and be a new client for the per-IP sign-in limit at each request. With the peer always last, the
// console believes the header only as far as LOVAGE_TRUSTED_PROXIES says (src/server/auth/client-address.ts).
// Usage: node scripts/server.mjs [--port 3000] [-H 0.0.0.0]; NODE_OPTIONS must include `--import tsx`.
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import next from 'next';

const dir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const { values } = parseArgs({
  options: {
    port: { type: 'string', short: 'p', default: process.env.PORT ?? '3000' },
    hostname: { type: 'string', short: 'H' },
  },
});
const port = Number(values.port);
process.env.NODE_ENV ??= 'production';

const app = next({ dir, dev: false, port, hostname: values.hostname ?? 'localhost' });
await app.prepare();
const handle = app.getRequestHandler();

const server = createServer((req, res) => {
  const peer = req.socket.remoteAddress;
  const forwarded = req.headers['x-forwarded-for'];
  if (peer) req.headers['x-forwarded-for'] = forwarded ? `${forwarded}, ${peer}` : peer;
  void handle(req, res);
});
server.listen(port, values.hostname, () => {
  console.log(`[lovage-web] listening on http://${values.hostname ?? 'localhost'}:${port}`);
});
// SIGTERM and SIGINT: the console's services close the database and exit (src/server/services/instance.ts).
