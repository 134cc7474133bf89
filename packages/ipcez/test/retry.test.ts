import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, listen } from 'ipcez';
import { runCli, startCliServer } from './helpers/cli.js';

const local = { target: 'local', os: 'linux' } as const;
let dir: string;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});
const fresh = (): string => {
  dir = mkdtempSync(join(tmpdir(), 'ipcez-retry-'));
  return join(dir, 's.sock');
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(process.platform === 'linux')('connect({ retry }): waiting for the server', () => {
  it('connects once a server that starts after the client is listening', async () => {
    const path = fresh();
    const pending = connect(path, { ...local, ack: false, retry: { attempts: Infinity, maxDelayMs: 50 } });
    await sleep(150);
    const server = await listen(path, { ...local, ack: false });
    cleanups.push(() => server.close());
    const socket = await pending;
    cleanups.push(() => socket.disconnect());
    const got = new Promise<string>((resolve) => {
      server.connectionHandler((s) => {
        s.messageHandler((r) => {
          if (r.ok) resolve(new TextDecoder().decode(r.message));
        });
      });
    });
    await socket.sendMessage('late but here');
    expect(await got).toBe('late but here');
  });

  it('retries a stale socket file (ECONNREFUSED) and, over WebSocket, a refused port', async () => {
    const path = fresh();
    // A dead server's socket file: bound by a process that exits without unlinking it.
    execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path]);
    await expect(connect(path, { ...local, ack: false })).rejects.toMatchObject({ osCode: 'ECONNREFUSED' });
    const unix = connect(path, { ...local, ack: false, retry: { attempts: Infinity, maxDelayMs: 50 } });
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => {
          resolve(p);
        });
      });
    });
    const url = `ws://127.0.0.1:${port}/x`;
    await expect(connect(url)).rejects.toMatchObject({ code: 'IPCEZ_ERR_IO', osCode: 'ECONNREFUSED' });
    const ws = connect(url, { retry: { attempts: Infinity, maxDelayMs: 50 } });
    await sleep(150);
    const unixServer = await listen(path, { ...local, ack: false });
    cleanups.push(() => unixServer.close());
    const wsServer = await listen(url);
    cleanups.push(() => wsServer.close());
    const sockets = await Promise.all([unix, ws]);
    for (const socket of sockets) {
      cleanups.push(() => socket.disconnect());
      expect(socket.state).toBe('open');
    }
  });

  it('throws the last failure once the attempts are spent, and never retries other errors', async () => {
    const path = fresh();
    const error = await connect(path, { ...local, ack: false, retry: 2 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_IO', osCode: 'ENOENT' });
    // A bad endpoint (over the path limit) fails at once, whatever the retry.
    const long = join(dir, 'x'.repeat(200));
    await expect(connect(long, { ...local, retry: { attempts: Infinity } })).rejects.toMatchObject({
      code: 'IPCEZ_ERR_INVALID_ENDPOINT',
    });
  });

  it('does not retry a WebSocket handshake refused with an HTTP status', async () => {
    let requests = 0;
    const http = createHttpServer((_req, res) => {
      requests++;
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => http.close(resolve)));
    const { port } = http.address() as { port: number };
    const error = await connect(`ws://127.0.0.1:${port}/x`, {
      retry: { attempts: 5, minDelayMs: 1, maxDelayMs: 2 },
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_WS', status: 404 });
    expect(requests).toBe(1);
  });

  it('stops waiting when the signal aborts, with its reason', async () => {
    const path = fresh();
    const controller = new AbortController();
    const pending = connect(path, { ...local, ack: false, signal: controller.signal, retry: { attempts: Infinity } });
    await sleep(30);
    const reason = new Error('enough');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('validates retry synchronously-checked before any I/O', async () => {
    const path = fresh();
    for (const retry of [-1, 1.5, { attempts: -1 }, { factor: 0.5 }, { minDelayMs: 10, maxDelayMs: 5 }, { tries: 3 }]) {
      await expect(connect(path, { ...local, retry: retry as never })).rejects.toMatchObject({
        code: 'IPCEZ_ERR_INVALID_ARG',
      });
    }
    await expect(connect(path, { ...local, retry: 'x' as never })).rejects.toBeInstanceOf(TypeError);
  });
});

describe.runIf(process.platform === 'linux')('ipcez send --wait', { timeout: 20_000 }, () => {
  it('waits for a server started after it, then sends', async () => {
    const path = fresh();
    const sending = runCli(['send', path, 'hi', '--wait', '--replies', '1', '--timeout', '15000']);
    await sleep(300);
    const server = await startCliServer(['echo', path]);
    cleanups.push(() => server.stop());
    const result = await sending;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('hi\n');
  });

  it('exits 1 (no server) once --wait=MS passed with no server', async () => {
    const path = fresh();
    const result = await runCli(['send', path, 'hi', '--wait=200']);
    expect(result.code).toBe(1);
    const usage = await runCli(['send', path, 'hi', '--wait=soon']);
    expect(usage.code).toBe(64);
  });
});
