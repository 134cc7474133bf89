#!/usr/bin/env node
// Serves examples/browser/index.html over HTTPS and an ipcez echo server over wss://, both
// with a self-signed certificate made at start (openssl), or the one in IPCEZ_CERT/IPCEZ_KEY.
//
//   node examples/browser/serve.mjs
//
// Prints one line "open <url>": open it in a browser. The certificate is self-signed, so the
// browser asks once per origin: first open the wss origin (printed too) over https:// and
// accept, then the page. Stop with Ctrl-C.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listen } from 'ipcez';

const here = dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'ipcez-browser-'));
let cert = process.env.IPCEZ_CERT && readFileSync(process.env.IPCEZ_CERT);
let key = process.env.IPCEZ_KEY && readFileSync(process.env.IPCEZ_KEY);
if (!cert || !key) {
  const config = join(tmp, 'openssl.cnf');
  writeFileSync(
    config,
    '[req]\ndistinguished_name=dn\nx509_extensions=ext\n[dn]\n[ext]\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
  );
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-config',
      config,
      '-keyout',
      join(tmp, 'key.pem'),
      '-out',
      join(tmp, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  cert = readFileSync(join(tmp, 'cert.pem'));
  key = readFileSync(join(tmp, 'key.pem'));
}

// The dist folders of ipcez and the packages its browser entry imports.
const ipcezDir = realpathSync(join(here, '..', 'node_modules', 'ipcez'));
const modules = {
  ipcez: join(ipcezDir, 'dist'),
  core: join(realpathSync(join(ipcezDir, 'node_modules', '@ipcez', 'core')), 'dist'),
  framing: join(realpathSync(join(ipcezDir, 'node_modules', '@ipcez', 'framing')), 'dist'),
  'transport-ws': join(realpathSync(join(ipcezDir, 'node_modules', '@ipcez', 'transport-ws')), 'dist'),
};

const types = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };
const https = createServer({ cert, key }, (req, res) => {
  const url = new URL(req.url, 'https://localhost');
  let file;
  if (url.pathname === '/') file = join(here, 'index.html');
  else {
    const match = /^\/modules\/([^/]+)\/(.+)$/.exec(url.pathname);
    const root = match && modules[match[1]];
    if (root) {
      const candidate = normalize(join(root, match[2]));
      if (candidate.startsWith(root + sep)) file = candidate;
    }
  }
  try {
    const body = readFileSync(file);
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end('not found');
  }
});
https.listen(0, '127.0.0.1');
await new Promise((resolve) => https.once('listening', resolve));
const pageOrigin = `https://127.0.0.1:${https.address().port}`;
// The page is served from another port, so another origin: the listener allows it by name
// (by default a WebSocket listener refuses pages of other origins).
const server = await listen('wss://127.0.0.1:0/ipc', { cert, key, allowedOrigins: [pageOrigin] });
server.connectionHandler((socket) => {
  socket.messageHandler((result) => {
    if (result.ok) socket.sendMessage(result.message).catch(() => {});
  });
});
const page = `${pageOrigin}/?ws=${encodeURIComponent(server.endpoint)}`;
console.log(`wss ${server.endpoint}`);
console.log(`open ${page}`);

const stop = async () => {
  https.close();
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
