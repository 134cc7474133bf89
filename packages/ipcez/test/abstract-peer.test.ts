// An abstract Unix socket (`@name`) has no file mode: a listener serves only its own user
// unless `allowOtherUsers` is set. The other user is real: created by this test (as root),
// connecting through the system Python (which it can read, unlike this checkout), and removed
// afterwards.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, listen } from 'ipcez';
import type { Server, Socket } from 'ipcez';

const isRoot = process.platform === 'linux' && process.getuid?.() === 0;
const canCreateUsers = isRoot && spawnSync('useradd', ['--help']).status === 0;
if (process.platform === 'linux' && !canCreateUsers) {
  console.warn('abstract-peer tests skipped: they need root and useradd to create a second user');
}

let user = '';

// Connects to the abstract name as `user`, sends one frame ("hi"), and prints what it read
// back before the connection ended (Node binds an abstract name padded to 108 bytes).
const CLIENT = `
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(('\\0' + sys.argv[1]).encode().ljust(108, b'\\0'))
try:
    s.sendall(struct.pack('>I', 2) + b'hi')
    data = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except OSError:
    data = b''
print(len(data), flush=True)
`;

async function asOtherUser(name: string): Promise<string> {
  const child = spawn('runuser', ['-u', user, '--', '/usr/bin/python3', '-c', CLIENT, name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await once(child, 'exit');
  clearTimeout(timer);
  return out.trim();
}

describe.runIf(canCreateUsers)('an abstract-socket listener and another local user', () => {
  beforeAll(() => {
    user = `ipcez-ab-${randomBytes(3).toString('hex')}`;
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', user]);
  });

  afterAll(() => {
    if (user !== '') spawnSync('userdel', [user]);
  });

  async function echoServer(name: string, allowOtherUsers?: boolean): Promise<{ server: Server; accepted: Socket[] }> {
    const server = await listen(`@${name}`, {
      target: 'local',
      os: 'linux',
      ...(allowOtherUsers === undefined ? {} : { allowOtherUsers }),
    });
    const accepted: Socket[] = [];
    server.connectionHandler((socket) => {
      accepted.push(socket);
      socket.messageHandler((r) => {
        if (r.ok) {
          socket
            .sendMessage(r.message)
            .then(() => socket.disconnect())
            .catch(() => undefined);
        }
      });
    });
    return { server, accepted };
  }

  it("closes another user's connection at once and serves its own user", async () => {
    const name = `ipcez-ab-${randomBytes(4).toString('hex')}`;
    const { server, accepted } = await echoServer(name);
    try {
      // The other user's connection is closed before anything of it is read: nothing echoed.
      expect(await asOtherUser(name)).toBe('0');
      expect(accepted).toHaveLength(0);
      const mine = await connect(`@${name}`, { target: 'local', os: 'linux', ack: false });
      await mine.sendMessage('mine');
      for await (const message of mine) {
        expect(Buffer.from(message).toString()).toBe('mine');
        break;
      }
      await mine.disconnect();
      expect(accepted).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('serves every local user with allowOtherUsers: true', async () => {
    const name = `ipcez-ab-${randomBytes(4).toString('hex')}`;
    const { server, accepted } = await echoServer(name, true);
    try {
      // The echo: a 4-byte header and "hi".
      expect(await asOtherUser(name)).toBe('6');
      expect(accepted).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});
