import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, listen } from 'ipcez';
import type { Socket } from 'ipcez';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('listen(ws://…, { server }) and socket.remoteAddress', () => {
  it('serves ipcez on the application’s HTTP server and exposes the peer address', async () => {
    const app = createServer((_req, res) => res.end('app'));
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    cleanups.push(() => new Promise((resolve) => app.close(resolve)));
    const server = await listen('ws://127.0.0.1/ipc', { server: app });
    cleanups.push(() => server.close());
    const accepted = new Promise<Socket>((resolve) => {
      server.connectionHandler(resolve);
    });
    const { port } = app.address() as { port: number };
    expect(server.endpoint).toBe(`ws://127.0.0.1:${port}/ipc`);
    const client = await connect(server.endpoint);
    cleanups.push(() => client.disconnect());
    expect((await accepted).remoteAddress).toBe('127.0.0.1');
    expect(client.remoteAddress).toBe('127.0.0.1');
    await server.close();
    expect(app.listening).toBe(true);
  });

  it.runIf(process.platform !== 'win32')(
    'is undefined on a Unix socket, and `server` is refused for a local endpoint',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ipcez-addr-'));
      cleanups.push(() => {
        rmSync(dir, { recursive: true, force: true });
      });
      const local = { target: 'local', os: 'linux', ack: false } as const;
      const server = await listen(join(dir, 's.sock'), local);
      cleanups.push(() => server.close());
      const client = await connect(server.endpoint, local);
      cleanups.push(() => client.disconnect());
      expect(client.remoteAddress).toBeUndefined();
      await expect(listen(join(dir, 't.sock'), { ...local, server: createServer() })).rejects.toMatchObject({
        code: 'IPCEZ_ERR_INVALID_ARG',
      });
    },
  );
});
