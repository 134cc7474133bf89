import { AckUnavailableError, invalidArgError } from '@ipcez/core';

/** The platforms whose signal naming {@link deriveSignalNames} knows. */
export type SignalPlatform = 'linux' | 'win32';

/**
 * The two OS names of one endpoint's signals.
 *
 * - Linux: POSIX semaphore names (`/ipcez_tmp_app.sock.data_ready`); the file in `/dev/shm`
 *   is `sem.` + the name without its leading `/`.
 * - Windows: event names in the `Global\` namespace (`Global\app.data_ready`), with
 *   `localFallback` holding the `Local\` names used where creating a `Global\` object is denied.
 */
export interface SignalNames {
  /** The "data ready" signal's name. */
  readonly ready: string;
  /** The "data acked" signal's name. */
  readonly acked: string;
  /**
   * The protocol v2 marker's name (`<base>.v2`): a v2 listener creates it, and a client that
   * finds it says HELLO (see docs/PROTOCOL.md, "Protocol v2").
   */
  readonly marker: string;
  /** Windows only: the `Local\` names used when `Global\` is denied; `undefined` on Linux. */
  readonly localFallback: { readonly ready: string; readonly acked: string; readonly marker: string } | undefined;
}

/**
 * Suffix of the "data ready" signal's name (DESIGN.md "Delivery acknowledgement").
 * @example
 * ```ts
 * deriveSignalNames('/tmp/a.sock', 'linux').ready.endsWith(READY_SUFFIX); // true
 * ```
 */
export const READY_SUFFIX = '.data_ready';
/**
 * Suffix of the "data acked" signal's name (DESIGN.md "Delivery acknowledgement").
 * @example
 * ```ts
 * deriveSignalNames('app', 'win32').acked; // 'Global\\app' + ACKED_SUFFIX
 * ```
 */
export const ACKED_SUFFIX = '.data_acked';
/**
 * Suffix of the protocol v2 marker's name.
 * @example
 * ```ts
 * deriveSignalNames('/tmp/ipcez.sock', 'linux').marker === '/ipcez_tmp_ipcez.sock' + V2_MARKER_SUFFIX; // true
 * ```
 */
export const V2_MARKER_SUFFIX = '.v2';

// Linux keeps a named semaphore as /dev/shm/sem.<name without the leading slash>, and a file
// name is at most NAME_MAX (255) bytes, so the name after '/' may hold 255 - 4 bytes.
const LINUX_MAX_NAME_BYTES = 251;
const PIPE_PREFIX = /^\\\\\.\\pipe\\/i;

/** `%` → `%25`, `_` → `%5F`, then `/` → `_`: injective, so different sockets never share a pair. */
function escapeSocketPath(value: string): string {
  return value.replaceAll('%', '%25').replaceAll('_', '%5F').replaceAll('/', '_');
}

/**
 * Derives the OS names of an endpoint's "data ready" / "data acked" signal pair. Pure: no I/O,
 * and the platform is a parameter, so every branch can be checked on every OS.
 *
 * **Platform behaviour** (a versioned contract: changing it is a major change):
 * - `'linux'`, a canonical socket path (absolute, its directory already resolved with
 *   `realpath`, see {@link canonicalSocketPath}): escape `%` as `%25` and `_` as `%5F`, replace
 *   every `/` by `_`, prefix `/ipcez`, append `.data_ready` / `.data_acked`.
 *   `/tmp/ipcez.sock` → `/ipcez_tmp_ipcez.sock.data_ready`.
 * - `'linux'`, an abstract socket `@name`: base `/ipcez@` + `name` escaped the same way.
 *   `@app/x` → `/ipcez@app_x.data_ready`.
 * - `'win32'`, a pipe name (`\\.\pipe\name` or just `name`): `Global\name.data_ready` /
 *   `Global\name.data_acked`, with `Local\` fallbacks. The name is used as given (event names
 *   are case-sensitive, pipe names are not: spell a pipe the same way on both ends).
 *
 * @param endpoint - the canonical socket path or `@name` (Linux), or the pipe name (Windows).
 * @param platform - `'linux'` or `'win32'`.
 * @returns the pair's names.
 * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when `endpoint` is not a non-empty string, holds a
 *   NUL character, is not absolute or `@name` on Linux, or `platform` is not a supported one.
 * @throws AckUnavailableError (`IPCEZ_ERR_ACK_UNAVAILABLE`) when a Linux name would exceed the
 *   251-byte semaphore name limit.
 * @example
 * ```ts
 * deriveSignalNames('/x/a_b.sock', 'linux').ready;      // '/ipcez_x_a%5Fb.sock.data_ready'
 * deriveSignalNames('\\\\.\\pipe\\app', 'win32').acked; // 'Global\\app.data_acked'
 * ```
 */
export function deriveSignalNames(endpoint: string, platform: SignalPlatform): SignalNames {
  if (typeof endpoint !== 'string' || endpoint.length === 0) {
    throw invalidArgError(`endpoint must be a non-empty string, got ${JSON.stringify(endpoint)}`);
  }
  if (endpoint.includes('\0')) {
    throw invalidArgError(`endpoint ${JSON.stringify(endpoint)} must not contain a NUL character`);
  }
  switch (platform) {
    case 'linux': {
      let base: string;
      if (endpoint.startsWith('@')) {
        base = `/ipcez@${escapeSocketPath(endpoint.slice(1))}`;
      } else if (endpoint.startsWith('/')) {
        base = `/ipcez${escapeSocketPath(endpoint)}`;
      } else {
        throw invalidArgError(
          `endpoint ${JSON.stringify(endpoint)} must be an absolute canonical socket path or an abstract @name on linux`,
        );
      }
      const longest = Buffer.byteLength(base + READY_SUFFIX) - 1;
      if (longest > LINUX_MAX_NAME_BYTES) {
        throw new AckUnavailableError(
          `the semaphore name for ${endpoint} would be ${longest} bytes, over Linux's ${LINUX_MAX_NAME_BYTES}-byte limit; use a shorter socket path`,
        );
      }
      return {
        ready: base + READY_SUFFIX,
        acked: base + ACKED_SUFFIX,
        marker: base + V2_MARKER_SUFFIX,
        localFallback: undefined,
      };
    }
    case 'win32': {
      const pipeName = endpoint.replace(PIPE_PREFIX, '');
      if (pipeName.length === 0) throw invalidArgError(`endpoint ${JSON.stringify(endpoint)} has an empty pipe name`);
      return {
        ready: `Global\\${pipeName}${READY_SUFFIX}`,
        acked: `Global\\${pipeName}${ACKED_SUFFIX}`,
        marker: `Global\\${pipeName}${V2_MARKER_SUFFIX}`,
        localFallback: {
          ready: `Local\\${pipeName}${READY_SUFFIX}`,
          acked: `Local\\${pipeName}${ACKED_SUFFIX}`,
          marker: `Local\\${pipeName}${V2_MARKER_SUFFIX}`,
        },
      };
    }
    default: {
      const unknown: never = platform;
      throw invalidArgError(`platform must be 'linux' or 'win32', got ${JSON.stringify(unknown)}`);
    }
  }
}
