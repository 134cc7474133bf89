import { realpath } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { IoError, invalidArgError } from '@ipcez/core';

/**
 * Canonicalises a Unix socket path the way docs/PROTOCOL.md §4.1 names its signals: the `realpath` of the
 * socket's directory, then `/`, then the socket's file name. The socket file itself need not
 * exist, so a listener can call this before binding; two spellings of one socket
 * (`./a.sock`, `/tmp/../tmp/a.sock`, a symlinked directory) agree. An abstract `@name` is
 * returned unchanged.
 *
 * @param socketPath - the socket path, absolute or relative to the working directory, or `@name`.
 * @returns the canonical path (or the `@name`).
 * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when `socketPath` is not a non-empty string.
 * @throws IoError (`IPCEZ_ERR_IO`) when the directory cannot be resolved (missing, no permission);
 *   the OS error is the `cause`.
 * @example
 * ```ts
 * await canonicalSocketPath('/tmp/../tmp/app.sock'); // '/tmp/app.sock'
 * ```
 */
export function canonicalSocketPath(socketPath: string): Promise<string> {
  if (typeof socketPath !== 'string' || socketPath.length === 0) {
    throw invalidArgError(`socketPath must be a non-empty string, got ${JSON.stringify(socketPath)}`);
  }
  if (socketPath.startsWith('@')) return Promise.resolve(socketPath);
  return canonicalise(resolve(socketPath));
}

async function canonicalise(absolute: string): Promise<string> {
  const directory = dirname(absolute);
  try {
    const real = await realpath(directory);
    return `${real === '/' ? '' : real}/${basename(absolute)}`;
  } catch (error) {
    throw new IoError(`cannot resolve the directory of socket ${absolute}`, { cause: error, path: directory });
  }
}
