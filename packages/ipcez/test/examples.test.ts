import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
});

async function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out, err };
}

describe('examples/sidecar', { timeout: 30_000 }, () => {
  it.each([
    ['the local transport with acks', {}, /listening on .* \((unix|pipe), acks on\)/],
    [
      'WebSocket',
      { IPCEZ_ENDPOINT: 'ws://127.0.0.1:0/sidecar' },
      /listening on ws:\/\/127\.0\.0\.1:\d+\/sidecar \(ws, acks off\)/,
    ],
  ] as const)('a host and its sidecar exchange JSON requests over %s', async (_name, env, banner) => {
    const { code, out, err } = await run([`${EXAMPLES}sidecar/host.mjs`], env);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(banner);
    expect(out).toContain('{"op":"add","args":[2,3]} -> {"ok":true,"result":5}');
    expect(out).toContain('-> {"ok":true,"result":"HELLO SIDECAR"}');
    expect(out).toContain('-> {"ok":false,"error":"unknown op nope"}');
    expect(out).toContain('host: sidecar exited with 0');
  });
});

describe.runIf(process.platform === 'linux')('examples/browser', { timeout: 60_000 }, () => {
  it('a page in headless Chromium connects over wss:// with connect() from ipcez, acks on (ipcez.v2), and gets every echo', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`,
      );
    }
    const child = spawn(process.execPath, [`${EXAMPLES}browser/serve.mjs`], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const lines = createInterface({ input: child.stdout });
    let page: string | undefined;
    for await (const line of lines) {
      const match = /^open (.+)$/.exec(line);
      if (match) {
        page = match[1];
        break;
      }
    }
    expect(page).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/\?ws=wss/);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      // The example's certificate is self-signed: a test cannot click "accept".
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--ignore-certificate-errors',
      ],
    });
    try {
      const tab = await browser.newPage({ ignoreHTTPSErrors: true });
      await tab.goto(page!);
      await tab.waitForFunction(() => 'ipcezResult' in globalThis, undefined, { timeout: 20_000 });
      const result = await tab.evaluate(() => (globalThis as unknown as { ipcezResult: unknown }).ipcezResult);
      expect(result).toEqual({
        ok: true,
        transport: 'ws',
        // The page asked for acks: the Node listener selected ipcez.v2 and said "hello 2".
        ackMode: 'v2',
        echoes: ['hello from the page', 'ünïcødé ✓', '', '\u0000\u0001\u0002\ufffd'],
      });
    } finally {
      await browser.close();
    }
  });
});
