// POSIX named semaphores through koffi over glibc (Linux). Only src/platform/index.ts imports
// this module, lazily, so these symbols are never bound on another OS.
import { statSync } from 'node:fs';
import { koffi } from './koffi.js';
import type { LibraryHandle } from 'koffi';
import { AckUnavailableError, IoError } from '@ipcez/core';
import type { AckBackend, NativeSignal, OpenMode, PeerCredentials, SignalFile, SliceResult } from '../ack-backend.js';

// Linux's generic ABI (x86-64, arm64, riscv64, ...): <asm-generic/fcntl.h>.
const O_CREAT = 0o100;
const O_EXCL = 0o200;
// 0600: owner read/write only (DESIGN.md). sem_open applies the umask, which never adds bits.
const MODE_0600 = 0o600;
const CLOCK_MONOTONIC = 1;
const ERRNO = koffi.os.errno;
function errnoOf(name: string): number {
  return ERRNO[name] ?? -1;
}
const EAGAIN = errnoOf('EAGAIN');
const EINTR = errnoOf('EINTR');
const ETIMEDOUT = errnoOf('ETIMEDOUT');
const EEXIST = errnoOf('EEXIST');
const ENOENT = errnoOf('ENOENT');
const EACCES = errnoOf('EACCES');
const EPERM = errnoOf('EPERM');

/** glibc (and musl) keep the POSIX semaphore `/name` as the file /dev/shm/sem.name. */
function shmFile(name: string): string {
  return `/dev/shm/sem.${name.slice(1)}`;
}

function identify(name: string): SignalFile | undefined {
  try {
    const stats = statSync(shmFile(name));
    return { dev: stats.dev, ino: stats.ino, uid: stats.uid };
  } catch {
    return undefined;
  }
}
const ERRNO_NAMES = new Map<number, string>(Object.entries(ERRNO).map(([name, value]) => [value, name]));

function loadLibc(): LibraryHandle {
  try {
    return koffi.load('libc.so.6');
  } catch {
    // musl and other libcs: the process image already links the C library.
    return koffi.load(null);
  }
}

const libc = loadLibc();
const semPointer = koffi.pointer(koffi.opaque());
const timespec = koffi.struct({ tv_sec: 'long', tv_nsec: 'long' });
interface Timespec {
  tv_sec: number;
  tv_nsec: number;
}
/** A `sem_t *`, as koffi hands it back (opaque; never dereferenced here). */
type SemHandle = object | bigint;

const semOpen = libc.func('sem_open', semPointer, ['str', 'int', '...']);
const semPost = libc.func('sem_post', 'int', [semPointer]);
const semTrywait = libc.func('sem_trywait', 'int', [semPointer]);
const semClose = libc.func('sem_close', 'int', [semPointer]);
const semUnlink = libc.func('sem_unlink', 'int', ['str']);
// <asm-generic/socket.h> (x86-64, arm64, riscv64 ...): SOL_SOCKET 1, SO_PEERCRED 17.
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const ucred = koffi.struct({ pid: 'int32', uid: 'uint32', gid: 'uint32' });
const getsockopt = libc.func('getsockopt', 'int', [
  'int',
  'int',
  'int',
  koffi.out(koffi.pointer(ucred)),
  koffi.inout(koffi.pointer('uint32')),
]);
const clockGettime = libc.func('clock_gettime', 'int', ['int', koffi.out(koffi.pointer(timespec))]);

// The timed wait must not move with the wall clock. sem_clockwait (glibc >= 2.30) takes a
// CLOCK_MONOTONIC deadline. Where it is absent (older glibc, musl) sem_timedwait takes a
// CLOCK_REALTIME deadline: a wall-clock jump then stretches or shortens one bounded slice,
// never the ack timeout itself, which is a monotonic timer on the JS side.
interface TimedWait {
  readonly clock: number;
  readonly call: (sem: SemHandle, deadline: Timespec, done: (error: unknown, rc: number) => void) => void;
}
function bindTimedWait(): TimedWait {
  try {
    const fn = libc.func('sem_clockwait', 'int', [semPointer, 'int', koffi.pointer(timespec)]);
    return {
      clock: CLOCK_MONOTONIC,
      call: (sem, deadline, done) => {
        fn.async(sem, CLOCK_MONOTONIC, deadline, done);
      },
    };
  } catch {
    const fn = libc.func('sem_timedwait', 'int', [semPointer, koffi.pointer(timespec)]);
    return {
      clock: 0, // CLOCK_REALTIME
      call: (sem, deadline, done) => {
        fn.async(sem, deadline, done);
      },
    };
  }
}
const timedWait = bindTimedWait();

/** A Node-style system error for errno `errno` from `syscall` on semaphore `name`. */
function errnoError(syscall: string, errno: number, name: string): Error {
  const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
  return Object.assign(new Error(`${syscall} ${name} failed: ${code}`), {
    errno: -errno,
    code,
    syscall,
    path: name,
  });
}

function deadlineAfter(ms: number): Timespec {
  const now: Partial<Timespec> = {};
  if (clockGettime(timedWait.clock, now) !== 0) {
    throw errnoError('clock_gettime', koffi.errno(), String(timedWait.clock));
  }
  const nanos = (now.tv_nsec ?? 0) + Math.round(ms * 1e6);
  return { tv_sec: (now.tv_sec ?? 0) + Math.floor(nanos / 1e9), tv_nsec: nanos % 1e9 };
}

class PosixSemaphore implements NativeSignal {
  readonly name: string;
  readonly identity: string;
  readonly #sem: SemHandle;

  constructor(name: string, sem: SemHandle) {
    this.name = name;
    this.identity = `sem:${koffi.address(sem).toString(16)}`;
    this.#sem = sem;
  }

  post(): void {
    if (semPost(this.#sem) !== 0) {
      const errno = koffi.errno();
      throw new IoError(`cannot post semaphore ${this.name}`, { cause: errnoError('sem_post', errno, this.name) });
    }
  }

  tryTake(): boolean {
    for (;;) {
      if (semTrywait(this.#sem) === 0) return true;
      const errno = koffi.errno();
      if (errno === EAGAIN) return false;
      if (errno === EINTR) continue;
      throw new IoError(`cannot take semaphore ${this.name}`, { cause: errnoError('sem_trywait', errno, this.name) });
    }
  }

  waitSlice(sliceMs: number, done: (result: SliceResult) => void): void {
    timedWait.call(this.#sem, deadlineAfter(sliceMs), (error: unknown, rc: number) => {
      if (error !== null && error !== undefined) {
        done({
          acquired: false,
          error: error instanceof Error ? error : new Error('koffi async call failed', { cause: error }),
        });
        return;
      }
      if (rc === 0) {
        done({ acquired: true });
        return;
      }
      // koffi restores the worker thread's errno around this callback.
      const errno = koffi.errno();
      if (errno === ETIMEDOUT || errno === EINTR) {
        done({ acquired: false });
        return;
      }
      done({
        acquired: false,
        error: new IoError(`cannot wait on semaphore ${this.name}`, {
          cause: errnoError('sem_clockwait', errno, this.name),
        }),
      });
    });
  }

  close(): void {
    semClose(this.#sem);
  }
}

function openSemaphore(name: string, mode: OpenMode): PosixSemaphore {
  // 'fresh': the caller unlinked the name; O_EXCL guarantees this process created the
  // semaphore, so its value is 0 and its mode 0600. A racing creator (EEXIST) is unlinked
  // again, a bounded number of times.
  const flags = mode === 'fresh' ? O_CREAT | O_EXCL : O_CREAT;
  for (let attempt = 0; ; attempt++) {
    const sem = semOpen(name, flags, 'uint32', MODE_0600, 'uint32', 0) as SemHandle | null;
    if (sem !== null && sem !== 0n) return new PosixSemaphore(name, sem);
    const errno = koffi.errno();
    if (errno === EINTR) continue;
    if (mode === 'fresh' && errno === EEXIST && attempt < 3) {
      semUnlink(name);
      continue;
    }
    throw new AckUnavailableError(
      `cannot open the POSIX named semaphore ${name} (${ERRNO_NAMES.get(errno) ?? errno})`,
      {
        cause: errnoError('sem_open', errno, name),
      },
    );
  }
}

/** POSIX named semaphores: counting, unlinkable. */
export const posixBackend: AckBackend = {
  isCounting: true,
  canUnlink: true,
  open: openSemaphore,
  exists(name: string): boolean {
    for (;;) {
      // No O_CREAT: opens only a semaphore that is already there.
      const sem = semOpen(name, 0) as SemHandle | null;
      if (sem !== null && sem !== 0n) {
        semClose(sem);
        return true;
      }
      const errno = koffi.errno();
      if (errno === EINTR) continue;
      if (errno === ENOENT) return false;
      if (errno === EACCES) return true;
      throw new IoError(`cannot look up semaphore ${name}`, { cause: errnoError('sem_open', errno, name) });
    }
  },
  identify,
  peerCredentials(fd: number): PeerCredentials {
    const credentials: Partial<PeerCredentials> = {};
    const length = [koffi.sizeof(ucred)];
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, credentials, length) !== 0) {
      const errno = koffi.errno();
      throw new IoError(`cannot read the peer credentials of socket fd ${fd}`, {
        cause: errnoError('getsockopt', errno, `fd ${fd}`),
      });
    }
    return { pid: credentials.pid ?? -1, uid: credentials.uid ?? -1, gid: credentials.gid ?? -1 };
  },
  unlink(name: string): void {
    if (semUnlink(name) === 0) return;
    const errno = koffi.errno();
    if (errno === ENOENT) return;
    const owner = errno === EACCES || errno === EPERM ? identify(name)?.uid : undefined;
    if (owner !== undefined && owner !== process.geteuid?.()) {
      // /dev/shm is sticky: only the owner (or root) may remove another user's semaphore. A
      // name this user cannot remove was made by another user, before this listener started.
      throw new AckUnavailableError(
        `the named semaphore ${name} (${shmFile(name)}) belongs to another user (uid ${owner}), so this listener cannot start its signals fresh: another local user created this endpoint's signal names first. Remove that file as root or as that user, or choose another socket path`,
        { cause: errnoError('sem_unlink', errno, name) },
      );
    }
    throw new IoError(`cannot unlink semaphore ${name}`, { cause: errnoError('sem_unlink', errno, name) });
  },
} satisfies AckBackend;
