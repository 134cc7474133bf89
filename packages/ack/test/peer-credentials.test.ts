import { once } from 'node:events';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { peerCredentials } from '@ipcez/ack';
import { isLinux } from './helpers.js';

describe.runIf(isLinux)('peerCredentials on linux', () => {
  test('reads the pid, uid and gid of the process at the other end of an abstract socket', async () => {
    const address = `\0ipcez-peer-${randomBytes(4).toString('hex')}`;
    const server = net.createServer();
    server.listen(address);
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    const client = net.connect(address);
    const connected = once(client, 'connect');
    const [socket] = await accepted;
    try {
      expect(await peerCredentials(socket)).toEqual({
        pid: process.pid,
        uid: process.getuid?.(),
        gid: process.getgid?.(),
      });
      // Both ends see each other: the client sees the server (this process too).
      await connected;
      expect((await peerCredentials(client)).pid).toBe(process.pid);
    } finally {
      client.destroy();
      socket.destroy();
      server.close();
      await once(server, 'close');
    }
  });

  test('refuses something that is not a connected socket with IPCEZ_ERR_INVALID_ARG', () => {
    expect(() => peerCredentials(JSON.parse('{}') as net.Socket)).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }) as Error,
    );
    expect(() => peerCredentials(new net.Socket())).toThrow(TypeError);
  });
});
