// A second, real, unprivileged local user (created by this test with useradd, removed after;
// skipped only where that is impossible: not Linux, not root, no useradd) against a listener
// running in its own process: it cannot connect to the socket (mode 0600), cannot open (so
// cannot post to) the listener's signals, and names it creates first neither capture a root
// listener (which starts its signals fresh, the squatter's are unlinked) nor let a non-root
// listener start on signals the squatter controls (it refuses, naming the owner).
//
// CI runs as root in a private (0700) clone: the other user's code is Python from the system
// interpreter (readable by anyone), given on the command line, never read from the clone.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { deriveSignalNames } from '@ipcez/ack';
import { connect } from 'ipcez';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  fixture,
  isLinux,
  killAll,
  record,
  removeSemaphoresUnder,
  semaphoresUnder,
  start,
  tempDir,
} from './helpers.js';

const isRoot = isLinux && process.getuid?.() === 0;
const hasUserTools = isRoot && spawnSync('useradd', ['--help']).status === 0;
if (isLinux && !hasUserTools) console.warn('other-user scenario skipped: it needs root and useradd to create users');

interface User {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

const users: User[] = [];
const cleanups: (() => void)[] = [];

function createUser(role: string): User {
  const name = `ipcez-rel-${role}-${randomBytes(3).toString('hex')}`;
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', name]);
  const user = {
    name,
    uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim()),
  };
  users.push(user);
  return user;
}

// What the other user runs: `connect <path>` prints "ok" or the errno name of connect(2);
// `open` / `post` / `create <names...>` sem_open each name (as it is; with O_CREAT, so an
// existing one is opened; with O_CREAT | O_EXCL, mode 0666) and sem_post it, printing "ok" or
// the errno name.
const AS_OTHER = `
import ctypes, errno, os, socket, sys
os.umask(0)
libc = ctypes.CDLL('libc.so.6', use_errno=True)
libc.sem_open.restype = ctypes.c_void_p
libc.sem_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_uint]
libc.sem_post.argtypes = [ctypes.c_void_p]
what = sys.argv[1]
if what == 'connect':
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(sys.argv[2]); print('ok')
    except OSError as e:
        print(errno.errorcode[e.errno])
    sys.exit(0)
flags = {'open': 0, 'post': 0o100, 'create': 0o100 | 0o200}[what]
for name in sys.argv[2:]:
    sem = libc.sem_open(name.encode(), flags, 0o666, 0)
    if not sem:
        print(errno.errorcode[ctypes.get_errno()]); sys.exit(0)
    libc.sem_post(sem)
print('ok', flush=True)
`;

function asOther(user: User, args: string[]): string {
  return execFileSync('runuser', ['-u', user.name, '--', '/usr/bin/python3', '-c', AS_OTHER, ...args], {
    encoding: 'utf8',
    timeout: 15_000,
  }).trim();
}

function listenAs(user: User, endpoint: string): Record<string, unknown> {
  const out = execFileSync(process.execPath, [fixture('listen-as.mjs'), String(user.uid), String(user.gid), endpoint], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  return JSON.parse(out.trim()) as Record<string, unknown>;
}

async function echo(endpoint: string): Promise<void> {
  const socket = await connect(endpoint, { target: 'local', os: 'linux' });
  try {
    const echoed = (async () => {
      for await (const message of socket) return message;
      return undefined;
    })();
    await socket.sendMessage('still mine');
    expect(new TextDecoder().decode(await echoed)).toBe('still mine');
  } finally {
    await socket.disconnect();
  }
}

describe.runIf(hasUserTools)('a second real unprivileged user against a listener process', () => {
  let other: User;
  let victim: User;
  let dir = '';

  beforeAll(() => {
    other = createUser('o');
    victim = createUser('v');
    const made = tempDir('user');
    dir = made.dir;
    // Anyone may enter (and the victim create its socket): only the socket's own mode and the
    // signals' modes stand between the other user and the listener.
    chmodSync(dir, 0o1777);
    cleanups.push(() => {
      removeSemaphoresUnder(dir);
      made.cleanup();
    });
  });

  afterEach(async () => {
    await killAll();
  });

  afterAll(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    for (const user of users.splice(0)) spawnSync('userdel', [user.name]);
  });

  test('cannot connect to the socket, nor open or post its signals, and the listener keeps serving', async () => {
    const started = Date.now();
    const endpoint = `${dir}/mine.sock`;
    const listener = start('echo-listener.mjs', [endpoint, 'on']);
    await listener.line((l) => l.startsWith('listening '));
    const names = deriveSignalNames(endpoint, 'linux');
    expect(asOther(other, ['connect', endpoint])).toBe('EACCES');
    for (const name of [names.ready, names.acked, names.marker]) {
      expect(asOther(other, ['open', name]), name).toBe('EACCES');
      expect(asOther(other, ['post', name]), name).toBe('EACCES');
    }
    await echo(endpoint);
    listener.process.stdin?.write('close\n');
    expect(await listener.exited).toBe(0);
    expect(semaphoresUnder(dir).filter((f) => f.includes('mine.sock'))).toEqual([]);
    record({
      scenario: 'other user: connect, signals',
      messages: 1,
      losses: 0,
      rssPeakBytes: 0,
      fds: 0,
      durationMs: Date.now() - started,
    });
  });

  test('names it created first: a root listener starts them fresh (the squatter is locked out); a non-root listener refuses, naming the owner', async () => {
    const started = Date.now();
    // Root: the squatter's names are replaced by the listener's own, 0600.
    const rootEndpoint = `${dir}/root.sock`;
    const rootNames = deriveSignalNames(rootEndpoint, 'linux');
    expect(asOther(other, ['create', rootNames.ready, rootNames.acked, rootNames.marker])).toBe('ok');
    const listener = start('echo-listener.mjs', [rootEndpoint, 'on']);
    await listener.line((l) => l.startsWith('listening '));
    expect(asOther(other, ['open', rootNames.ready])).toBe('EACCES');
    expect(asOther(other, ['open', rootNames.acked])).toBe('EACCES');
    await echo(rootEndpoint);
    listener.process.stdin?.write('close\n');
    expect(await listener.exited).toBe(0);
    // Another unprivileged user: it cannot take the squatter's names, so it does not start.
    const endpoint = `${dir}/squatted.sock`;
    const names = deriveSignalNames(endpoint, 'linux');
    expect(asOther(other, ['create', names.ready, names.acked])).toBe('ok');
    const outcome = listenAs(victim, endpoint);
    expect(outcome).toMatchObject({ uid: victim.uid, code: 'IPCEZ_ERR_ACK_UNAVAILABLE' });
    expect(String(outcome['message'])).toContain(`uid ${other.uid}`);
    // Without a squatter the same user starts fine (the fixture works).
    expect(listenAs(victim, `${dir}/free.sock`)).toMatchObject({ uid: victim.uid, listening: `${dir}/free.sock` });
    record({
      scenario: 'other user: squatted names',
      messages: 1,
      losses: 0,
      rssPeakBytes: 0,
      fds: 0,
      durationMs: Date.now() - started,
    });
  });
});
