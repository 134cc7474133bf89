// The browser build (the `browser` export condition) in a real headless Chromium against a
// real Node listener. CI installs Chromium (Debian package `chromium`); without it this test
// FAILS with instructions, it does not skip.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Listener } from '@ipcez/core';
import { listenWs } from '@ipcez/transport-ws';
import type { connectWs, wsTransport } from '@ipcez/transport-ws';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_DIR, echo } from './helpers.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The dist directory of a workspace package, found the way Node resolves it from here. */
function distOf(name: string): string {
  const entry = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', `console.log(import.meta.resolve('${name}'))`],
    {
      cwd: PACKAGE_DIR,
      encoding: 'utf8',
    },
  ).trim();
  return dirname(fileURLToPath(entry));
}

/** Every module the browser entry reaches by relative import, and the bare specifiers it imports. */
function browserImportGraph(entry: string): { files: string[]; bare: Set<string> } {
  const files: string[] = [];
  const bare = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.includes(file)) continue;
    files.push(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(
      /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
    )) {
      const specifier = (match[1] ?? match[2])!;
      if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier));
      else bare.add(specifier);
    }
  }
  return { files, bare };
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8">
<script type="importmap">
{ "imports": {
  "@ipcez/transport-ws": "/ws/browser/index.js",
  "@ipcez/core": "/core/index.js",
  "@ipcez/framing": "/framing/index.js"
} }
</script>
<script type="module">
import { connectWs, listenWs, wsTransport } from '@ipcez/transport-ws';
window.ipcezReady = { connectWs, listenWs, wsTransport };
</script>
</head><body>ipcez browser test</body></html>`;

interface PageApi {
  connectWs: typeof connectWs;
  listenWs: typeof listenWs;
  wsTransport: typeof wsTransport;
}

/** The page's global object, as seen from code that runs inside it (`page.evaluate`). */
declare const window: { ipcezReady?: PageApi };

describe('browser build in headless Chromium', () => {
  let http: Server | undefined;
  let listener: Listener | undefined;
  let textServer: WebSocketServer | undefined;
  let browser: Browser | undefined;
  let pageUrl = '';
  const textServerCloseCodes: number[] = [];

  /** Launches Chromium once; fails (never skips) when it is not installed. */
  async function ensureBrowser(): Promise<Browser> {
    expect(
      existsSync(CHROMIUM),
      `Chromium is required for the browser test and was not found at ${CHROMIUM}. ` +
        'Install it (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH.',
    ).toBe(true);
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 45_000 });
    return browser;
  }

  beforeAll(async () => {
    const roots: Record<string, string> = {
      '/ws/': join(PACKAGE_DIR, 'dist'),
      '/core/': distOf('@ipcez/core'),
      '/framing/': distOf('@ipcez/framing'),
    };
    http = createServer((request, response) => {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (path === '/') {
        response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
        return;
      }
      for (const [prefix, root] of Object.entries(roots)) {
        if (!path.startsWith(prefix)) continue;
        const file = resolve(root, `.${path.slice(prefix.length - 1)}`);
        if ((file.startsWith(root + sep) || file === root) && existsSync(file) && extname(file) === '.js') {
          response.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(file));
          return;
        }
      }
      response.writeHead(404).end();
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    pageUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    // The page comes from another port, so another origin: allowed by name.
    listener = await listenWs('ws://127.0.0.1:0/echo', { allowedOrigins: [pageUrl.slice(0, -1)] });
    echo(listener);
    textServer = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    textServer.on('connection', (ws) => {
      ws.on('close', (code: number) => textServerCloseCodes.push(code));
      ws.send('héllo ✓');
    });
    await once(textServer, 'listening');
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await listener?.close();
    if (textServer) {
      for (const client of textServer.clients) client.terminate();
      await new Promise<void>((done) =>
        textServer?.close(() => {
          done();
        }),
      );
    }
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((done) =>
        http?.close(() => {
          done();
        }),
      );
    }
  }, 30_000);

  it('imports neither ws nor node:* anywhere in the browser build', () => {
    const { files, bare } = browserImportGraph(join(PACKAGE_DIR, 'dist', 'browser', 'index.js'));
    expect(files.length).toBeGreaterThan(3);
    expect([...bare].sort()).toEqual(['@ipcez/core']);
  });

  it('connects from a web page with the global WebSocket and gets its binary messages echoed', async () => {
    const page = await (await ensureBrowser()).newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(pageUrl);
    await page.waitForFunction(() => 'ipcezReady' in window, undefined, { timeout: 20_000 });
    const echoed = await page.evaluate(async (endpoint) => {
      const { connectWs, wsTransport } = window.ipcezReady!;
      const connection = await connectWs(endpoint);
      const big = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
      const sent = [new Uint8Array([1, 2, 3]), new Uint8Array(0), big, new Uint8Array([255])];
      const received: Uint8Array[] = [];
      let terminal = '';
      const all = new Promise<void>((done) => {
        connection.messageHandler((result) => {
          if (result.ok) {
            received.push(result.message);
            if (received.length === sent.length) done();
          } else {
            terminal = `${result.error.code}:${(result.error as { reason?: string }).reason ?? ''}`;
          }
        });
      });
      await Promise.all(sent.map((m) => connection.send(m)));
      const bufferedAfterSends = connection.bufferedAmount;
      await all;
      await connection.close();
      return {
        supported: wsTransport.isSupported(),
        transport: connection.transport,
        state: connection.state,
        bufferedAfterSends,
        sizes: received.map((m) => m.byteLength),
        same: received.every((m, i) => m.byteLength === sent[i]!.byteLength && m.every((b, j) => b === sent[i]![j])),
        isPlainUint8Array: received.every((m) => Object.getPrototypeOf(m) === Uint8Array.prototype),
        terminal,
      };
    }, listener!.endpoint);
    expect(pageErrors).toEqual([]);
    expect(echoed).toEqual({
      supported: true,
      transport: 'ws',
      state: 'closed',
      bufferedAfterSends: 0,
      sizes: [3, 0, 300_000, 1],
      same: true,
      isPlainUint8Array: true,
      terminal: 'IPCEZ_ERR_CONNECTION_LOST:local-close',
    });
  }, 90_000);

  it('gets text messages as UTF-8 bytes, a WsError for a wrong path, and no listener in a page', async () => {
    const page = await (await ensureBrowser()).newPage();
    await page.goto(pageUrl);
    await page.waitForFunction(() => 'ipcezReady' in window, undefined, { timeout: 20_000 });
    const outcome = await page.evaluate(
      async ({ textEndpoint, wrongPath }) => {
        const { connectWs, listenWs } = window.ipcezReady!;
        const connection = await connectWs(textEndpoint);
        const text = await new Promise<number[]>((done) => {
          connection.messageHandler((result) => {
            if (result.ok) done(Array.from(result.message));
          });
        });
        connection.destroy();
        const wrong = await connectWs(wrongPath).then(
          () => 'connected',
          (error: unknown) => (error as { code: string }).code,
        );
        const listen = await listenWs('ws://127.0.0.1:0/x').then(
          () => 'listening',
          (error: unknown) => (error as { code: string }).code,
        );
        const small = await connectWs(textEndpoint, { maxMessageBytes: 4 });
        const tooLarge = await new Promise<string>((done) => {
          small.messageHandler((result) => {
            if (!result.ok) {
              const error = result.error as { code: string; size?: number; limit?: number };
              done(`${error.code} ${error.size} > ${error.limit}`);
            }
          });
        });
        await small.close();
        let headers = '';
        try {
          void connectWs(textEndpoint, { headers: { a: 'b' } });
        } catch (error) {
          headers = (error as { code: string }).code;
        }
        return { text, wrong, listen, tooLarge, headers };
      },
      {
        textEndpoint: `ws://127.0.0.1:${(textServer!.address() as AddressInfo).port}/`,
        wrongPath: listener!.endpoint.replace('/echo', '/nope'),
      },
    );
    expect(outcome).toEqual({
      text: Array.from(new TextEncoder().encode('héllo ✓')),
      wrong: 'IPCEZ_ERR_WS',
      listen: 'IPCEZ_ERR_UNSUPPORTED_PLATFORM',
      tooLarge: `IPCEZ_ERR_FRAME_TOO_LARGE ${new TextEncoder().encode('héllo ✓').length} > 4`,
      headers: 'IPCEZ_ERR_INVALID_ARG',
    });
    // Pages may not send 1009; the application-range mirror is used.
    expect(textServerCloseCodes).toContain(4009);
  }, 60_000);
});
