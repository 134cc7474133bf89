// A second, real, unprivileged local user (created by this test, removed after it) against the
// signal names of an endpoint: it cannot open (so cannot post to) a listener's signals, and a
// name it creates first makes a non-root listener refuse to start with a clear error instead
// of an EACCES from deep inside. Needs root (to create users); skipped elsewhere, saying why.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { once } from 'node:events';
import net from 'node:net';
import { deriveSignalNames, openSignalPair, peerCredentials } from '@ipcez/ack';
import { isLinux, shmSemaphores } from './helpers.js';

const execFileAsync = promisify(execFile);
const AS_USER = fileURLToPath(new URL('./fixtures/as-user.mjs', import.meta.url));
const isRoot = isLinux && process.getuid?.() === 0;
const hasUserTools = isRoot && spawnSync('useradd', ['--help']).status === 0;
if (isLinux && !hasUserTools)
  console.warn('other-user tests skipped: they need root and useradd to create a second user');

interface TestUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

const users: TestUser[] = [];
let dir = '';

function createUser(role: string): TestUser {
  const name = `ipcez-${role}-${randomBytes(3).toString('hex')}`;
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', name]);
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  const user = { name, uid, gid };
  users.push(user);
  return user;
}

// Runs Python's ctypes (the system interpreter: readable by any user, unlike this checkout) as
// `user`: sem_open(name, flags, 0666) for each name; prints "ok" or the errno name.
function semOpenAs(user: TestUser, names: string[], create: boolean): string {
  const code = `
import ctypes, errno, os, sys
os.umask(0)
libc = ctypes.CDLL('libc.so.6', use_errno=True)
libc.sem_open.restype = ctypes.c_void_p
libc.sem_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_uint]
flags = (0o100 | 0o200) if sys.argv[1] == 'create' else 0
for name in sys.argv[2:]:
    sem = libc.sem_open(name.encode(), flags, 0o666, 0)
    if not sem:
        print(errno.errorcode[ctypes.get_errno()]); sys.exit(0)
    libc.sem_post.argtypes = [ctypes.c_void_p]
    libc.sem_post(sem)
print('ok')
`;
  return execFileSync(
    'runuser',
    ['-u', user.name, '--', '/usr/bin/python3', '-c', code, create ? 'create' : 'open', ...names],
    {
      encoding: 'utf8',
    },
  ).trim();
}

function listenAs(user: TestUser, endpoint: string): Record<string, unknown> {
  const out = execFileSync(process.execPath, [AS_USER, String(user.uid), String(user.gid), endpoint], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  return JSON.parse(out.trim()) as Record<string, unknown>;
}

describe.runIf(hasUserTools)('another local user and the signal names (linux, as root)', () => {
  let squatter: TestUser;
  let victim: TestUser;

  beforeAll(() => {
    squatter = createUser('sq');
    victim = createUser('vi');
    dir = mkdtempSync(join(tmpdir(), 'ipcez-users-'));
    chmodSync(dir, 0o755);
  });

  afterAll(() => {
    // Whatever the outcome: the other users' semaphores, the directory, the users.
    if (dir !== '') {
      for (const file of shmSemaphores(dir.slice(1).replaceAll('_', '%5F').replaceAll('/', '_'))) {
        rmSync(join('/dev/shm', file), { force: true });
      }
      rmSync(dir, { recursive: true, force: true });
    }
    for (const user of users.splice(0)) spawnSync('userdel', [user.name]);
  });

  test('an unprivileged listener starts when nobody else holds its names (the fixture works)', () => {
    const endpoint = join(dir, 'free.sock');
    expect(listenAs(victim, endpoint)).toEqual({ opened: true, uid: victim.uid });
  });

  test("another user cannot open a listener's signals, so cannot post acks to them", async () => {
    const endpoint = join(dir, 'mine.sock');
    const pair = await openSignalPair(endpoint, { role: 'listener' });
    try {
      expect(semOpenAs(squatter, [pair.names.ready], false)).toBe('EACCES');
      expect(semOpenAs(squatter, [pair.names.acked], false)).toBe('EACCES');
    } finally {
      pair.unlink();
      await pair.close();
    }
  });

  test('names another user created first make a non-root listener refuse with a clear error naming the owner', () => {
    const endpoint = join(dir, 'squatted.sock');
    const names = deriveSignalNames(endpoint, 'linux');
    expect(semOpenAs(squatter, [names.ready, names.acked], true)).toBe('ok');
    const outcome = listenAs(victim, endpoint);
    expect(outcome).toMatchObject({ uid: victim.uid, code: 'IPCEZ_ERR_ACK_UNAVAILABLE' });
    expect(outcome['message']).toContain(`belongs to another user (uid ${squatter.uid})`);
    expect(outcome['message']).toContain('choose another socket path');
  });

  test('peerCredentials tells another user connecting to an abstract socket by its uid', async () => {
    const name = `ipcez-peer-${randomBytes(4).toString('hex')}`;
    const server = net.createServer();
    server.listen(`\0${name}`);
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    const code = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
# Node binds an abstract name padded with NULs to the whole of sun_path (108 bytes).
s.connect(('\\0' + sys.argv[1]).encode().ljust(108, b'\\0'))
s.recv(1)
`;
    const client = execFileAsync('runuser', ['-u', squatter.name, '--', '/usr/bin/python3', '-c', code, name]);
    // A failed client would otherwise leave the accept waiting until the test times out.
    void client.catch((error: unknown) => {
      server.emit('error', error);
    });
    const [socket] = await accepted;
    try {
      expect(await peerCredentials(socket)).toMatchObject({ uid: squatter.uid, gid: squatter.gid });
    } finally {
      socket.destroy();
      await client.catch(() => undefined);
      server.close();
      await once(server, 'close');
    }
  });
});
