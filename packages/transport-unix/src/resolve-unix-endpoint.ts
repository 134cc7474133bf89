import path from 'node:path';
import { InvalidEndpointError, UnsupportedPlatformError, invalidArgError } from '@ipcez/core';

/** Size of `sockaddr_un.sun_path` on Linux, the terminating NUL included: 108 bytes. */
export const LINUX_SUN_PATH_BYTES = 108;

/** Size of `sockaddr_un.sun_path` on macOS and the BSDs, the terminating NUL included: 104 bytes. */
export const BSD_SUN_PATH_BYTES = 104;

/**
 * The size of `sun_path` on a platform, the terminating NUL included: a socket path may be
 * at most this minus one bytes long (UTF-8).
 *
 * @param platform - a `process.platform` value.
 * @returns 108 on Linux (and Android), 104 elsewhere (macOS, the BSDs, and unknown systems,
 *   the smaller and therefore safe choice).
 * @example
 * ```ts
 * sunPathBytes('linux'); // 108: paths up to 107 bytes
 * ```
 */
export function sunPathBytes(platform: NodeJS.Platform): number {
  return platform === 'linux' || platform === 'android' ? LINUX_SUN_PATH_BYTES : BSD_SUN_PATH_BYTES;
}

/** Where {@link resolveUnixEndpoint} resolves an endpoint: the working directory and the OS. */
export interface ResolveUnixEndpointOptions {
  /** Directory a relative path is resolved against (default `process.cwd()`). */
  readonly cwd?: string;
  /** The platform whose rules apply (default `process.platform`). */
  readonly platform?: NodeJS.Platform;
}

/** An endpoint resolved by {@link resolveUnixEndpoint}. */
export interface ResolvedUnixEndpoint {
  /**
   * The endpoint as ipcez reports it (`connection.endpoint`, `listener.endpoint`, error
   * messages): the absolute socket path, or `@name` for an abstract socket.
   */
  readonly endpoint: string;
  /** What to hand to `node:net`: the absolute path, or `"\0" + name` for an abstract socket. */
  readonly address: string;
  /** Whether it names a Linux abstract socket (no file in the file system). */
  readonly isAbstract: boolean;
}

/**
 * Maps a unix endpoint string to the socket address, without touching the file system.
 * This mapping is a versioned contract: changing it is a major release.
 *
 * **Platform behaviour.**
 * - `@name` → the Linux abstract namespace: address `"\0name"`, no socket file, at most
 *   107 bytes of name. On other platforms it is unsupported.
 * - Anything else is a path: absolute, or relative to `cwd`, normalised (`path.posix.resolve`).
 *   Its UTF-8 length must leave room for the terminating NUL in `sun_path` (at most 107
 *   bytes on Linux, 103 on macOS and the BSDs); longer paths are refused here rather than
 *   silently truncated by the OS.
 *
 * @param endpoint - the endpoint as the user gave it.
 * @param options - {@link ResolveUnixEndpointOptions}.
 * @returns the {@link ResolvedUnixEndpoint}.
 * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when `endpoint` is not a string.
 * @throws InvalidEndpointError (`IPCEZ_ERR_INVALID_ENDPOINT`) for an empty endpoint or name,
 *   a NUL byte, or a path or name over the limit (the message shows the resolved path, its
 *   length and the limit).
 * @throws UnsupportedPlatformError (`IPCEZ_ERR_UNSUPPORTED_PLATFORM`) for `@name` outside Linux.
 * @example
 * ```ts
 * resolveUnixEndpoint('run/app.sock', { cwd: '/srv', platform: 'linux' });
 * // { endpoint: '/srv/run/app.sock', address: '/srv/run/app.sock', isAbstract: false }
 * resolveUnixEndpoint('@app', { platform: 'linux' });
 * // { endpoint: '@app', address: '\0app', isAbstract: true }
 * ```
 */
export function resolveUnixEndpoint(endpoint: string, options: ResolveUnixEndpointOptions = {}): ResolvedUnixEndpoint {
  if (typeof endpoint !== 'string') {
    throw invalidArgError(`endpoint must be a string, got ${typeof endpoint}`);
  }
  const platform = options.platform ?? process.platform;
  const limit = sunPathBytes(platform) - 1;
  if (endpoint.length === 0) throw new InvalidEndpointError(endpoint, 'the socket path is empty');
  if (endpoint.includes('\0')) throw new InvalidEndpointError(endpoint, 'a socket path cannot contain a NUL byte');
  if (endpoint.startsWith('@')) {
    if (platform !== 'linux' && platform !== 'android') {
      throw new UnsupportedPlatformError('Linux abstract socket names (@name)', platform);
    }
    const name = endpoint.slice(1);
    if (name.length === 0) throw new InvalidEndpointError(endpoint, 'the abstract socket name after "@" is empty');
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes > limit) {
      throw new InvalidEndpointError(
        endpoint,
        `the abstract socket name is ${bytes} bytes long; the limit on ${platform} is ${limit} bytes`,
      );
    }
    return { endpoint, address: `\0${name}`, isAbstract: true };
  }
  const resolved = path.posix.resolve(options.cwd ?? process.cwd(), endpoint);
  const bytes = Buffer.byteLength(resolved, 'utf8');
  if (bytes > limit) {
    throw new InvalidEndpointError(
      resolved,
      `the socket path is ${bytes} bytes long; the limit on ${platform} is ${limit} bytes ` +
        `(sun_path holds ${limit + 1} bytes including the terminating NUL); use a shorter path`,
    );
  }
  return { endpoint: resolved, address: resolved, isAbstract: false };
}
