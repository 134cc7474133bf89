import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { once } from 'node:events';
import { deriveSignalNames } from '@ipcez/ack';

/** Where a Linux POSIX named semaphore lives: `/dev/shm/sem.<name without its leading slash>`. */
const SHM_DIR = '/dev/shm';
/** The suffixes of the named signals an ipcez endpoint has (the pair, and the v2 marker). */
const SIGNAL_SUFFIX = /\.(data_ready|data_acked|v2)$/;

/** Whether a server answers an endpoint, as a real connect found out. */
export type Liveness =
  | {
      /** A connection was accepted. */
      readonly state: 'live';
    }
  | {
      /** Nothing at the endpoint: no socket file, no pipe, no abstract socket listening. */
      readonly state: 'absent';
    }
  | {
      /** A socket file nobody accepts on (connect refused): a dead server's. */
      readonly state: 'stale';
    }
  | {
      /** The path exists and is not a socket. */
      readonly state: 'not-a-socket';
    }
  | {
      /** The probe could not tell (permission denied, …). */
      readonly state: 'unknown';
      /** What the probe ran into. */
      readonly reason: string;
    };

/** One thing a dead server left behind. */
export interface Leftover {
  /** A socket file, or a named semaphore's file in /dev/shm. */
  readonly kind: 'socket-file' | 'semaphore';
  /** The file: the socket path, or `/dev/shm/sem.…`. */
  readonly path: string;
  /** The endpoint it belongs to (a socket path or `@name`). */
  readonly endpoint: string;
  /** Whether `--fix` removed it. */
  readonly removed: boolean;
}

function identity(path: string): string | undefined {
  try {
    const stat = lstatSync(path);
    return `${String(stat.dev)}:${String(stat.ino)}`;
  } catch {
    return undefined;
  }
}

/**
 * Probes a local endpoint with a real connect (the server, if any, sees one client that
 * connects and leaves at once). `address` is the socket path, `"\0name"` for an abstract
 * socket, or a full pipe name.
 */
export async function probeLocal(address: string): Promise<Liveness> {
  // Abstract sockets and named pipes have no file to look at.
  if (!address.startsWith('\0') && !address.startsWith('\\')) {
    try {
      if (!lstatSync(address).isSocket()) return { state: 'not-a-socket' };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { state: 'absent' };
      return { state: 'unknown', reason: (error as Error).message };
    }
  }
  const socket = netConnect(address);
  // A bound to stop a hang, never a speed judgement: a local connect answers at once.
  const timer = setTimeout(() => socket.destroy(new Error('connect did not finish within 5000 ms')), 5000);
  try {
    await once(socket, 'connect');
    return { state: 'live' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Refused at a socket file: the file outlived its server. An abstract socket has no file,
    // so refused there just means nobody listens.
    if (code === 'ECONNREFUSED') return { state: address.startsWith('\0') ? 'absent' : 'stale' };
    if (code === 'ENOENT') return { state: 'absent' };
    return { state: 'unknown', reason: (error as Error).message };
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

/** Whether named semaphores can be listed here (Linux keeps them as files in /dev/shm). */
function shmEntries(): string[] {
  try {
    return readdirSync(SHM_DIR);
  } catch {
    return [];
  }
}

/** `_` → `/`, then `%5F` → `_`, `%25` → `%`: the inverse of the signal-name escaping. */
function unescapeBase(escaped: string): string {
  return escaped.replaceAll('_', '/').replaceAll('%5F', '_').replaceAll('%25', '%');
}

/**
 * The ipcez semaphores in /dev/shm, grouped by the endpoint they belong to. With `canonical`,
 * only that endpoint's (a canonical socket path or `@name`).
 */
export function semaphoresByEndpoint(canonical?: string): Map<string, string[]> {
  const byEndpoint = new Map<string, string[]>();
  let prefix = 'sem.ipcez';
  if (canonical !== undefined) {
    const ready = deriveSignalNames(canonical, 'linux').ready;
    prefix = `sem.${ready.slice(1).replace(SIGNAL_SUFFIX, '')}.`;
  }
  for (const entry of shmEntries()) {
    if (!entry.startsWith(prefix) || !SIGNAL_SUFFIX.test(entry)) continue;
    const base = entry.slice('sem.ipcez'.length).replace(SIGNAL_SUFFIX, '');
    const endpoint = base.startsWith('@') ? `@${unescapeBase(base.slice(1))}` : unescapeBase(base);
    if (canonical !== undefined && endpoint !== canonical) continue;
    if (!endpoint.startsWith('/') && !endpoint.startsWith('@')) continue;
    const list = byEndpoint.get(endpoint) ?? [];
    list.push(`${SHM_DIR}/${entry}`);
    byEndpoint.set(endpoint, list);
  }
  return byEndpoint;
}

/** The address `node:net` connects to for a canonical endpoint. */
export function addressOf(endpoint: string): string {
  return endpoint.startsWith('@') ? `\0${endpoint.slice(1)}` : endpoint;
}

/**
 * Finds what dead servers left behind at `endpoints` (each with its semaphore files): a socket
 * file no server answers, and semaphores whose endpoint no server answers. With `fix`, removes
 * them, but only after probing again right before, and only files still the same ones that
 * were judged (same device and inode): a server that started meanwhile made new ones. The
 * window that remains is a server starting at that very moment, between creating its signals
 * and binding its socket.
 */
export async function findLeftovers(
  endpoints: Map<string, { semaphores: string[]; liveness: Liveness }>,
  fix: boolean,
): Promise<Leftover[]> {
  const leftovers: Leftover[] = [];
  for (const [endpoint, { semaphores, liveness }] of endpoints) {
    if (liveness.state !== 'absent' && liveness.state !== 'stale') continue;
    const files: { kind: Leftover['kind']; path: string; id: string | undefined }[] = semaphores.map((path) => ({
      kind: 'semaphore',
      path,
      id: identity(path),
    }));
    if (liveness.state === 'stale' && !endpoint.startsWith('@'))
      files.push({ kind: 'socket-file', path: endpoint, id: identity(endpoint) });
    const still = fix ? await probeLocal(addressOf(endpoint)) : liveness;
    const mayRemove = fix && (still.state === 'absent' || still.state === 'stale');
    // Signals first, then the socket file: the order a closing listener uses.
    for (const file of files) {
      let removed = false;
      if (mayRemove && file.id !== undefined && identity(file.path) === file.id) {
        const isSocketFile = file.kind === 'socket-file';
        if (!isSocketFile || lstatSync(file.path).isSocket()) {
          rmSync(file.path, { force: true });
          removed = true;
        }
      }
      leftovers.push({ kind: file.kind, path: file.path, endpoint, removed });
    }
  }
  return leftovers;
}
