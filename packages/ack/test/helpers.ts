import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const isLinux: boolean = process.platform === 'linux';
export const isWindows: boolean = process.platform === 'win32';

/**
 * A unique endpoint for this test run: a socket path under the temp dir (Linux; the socket
 * file is never created by these tests, the signals only need its name) or a pipe name.
 */
export function uniqueEndpoint(tag: string): string {
  const suffix = `${tag}-${process.pid}-${randomBytes(4).toString('hex')}`;
  return isWindows ? `\\\\.\\pipe\\ipcez-${suffix}` : join(tmpdir(), `ipcez-${suffix}.sock`);
}

/** The /dev/shm files of POSIX semaphores whose name contains `fragment`. */
export function shmSemaphores(fragment: string): string[] {
  return readdirSync('/dev/shm').filter((f) => f.startsWith('sem.') && f.includes(fragment));
}

/** The permission bits of /dev/shm/sem.<name without leading slash>. */
export function semaphoreMode(name: string): number {
  return statSync(`/dev/shm/sem.${name.slice(1)}`).mode & 0o777;
}

/** Records the order in which promises settle. */
export function track(label: string, promise: Promise<unknown>, into: string[]): Promise<void> {
  return promise.then(
    () => {
      into.push(`${label}:ok`);
    },
    (error: unknown) => {
      into.push(`${label}:${(error as { code?: string }).code ?? (error as Error).message}`);
    },
  );
}
