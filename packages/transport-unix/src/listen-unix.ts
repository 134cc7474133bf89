import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Listener, ListenOptions, ResolvedCommonOptions, ResolvedListenerLimits } from '@ipcez/core';
import {
  EndpointInUseError,
  InvalidEndpointError,
  UnsupportedPlatformError,
  invalidArgError,
  resolveCommonOptions,
  resolveListenerLimits,
} from '@ipcez/core';
import { listenServer, probeEndpoint, startStreamListener } from '@ipcez/core/stream';
import { ioError } from './os-error.js';
import { resolveUnixEndpoint, sunPathBytes } from './resolve-unix-endpoint.js';
import type { ResolvedUnixEndpoint } from './resolve-unix-endpoint.js';

/** What answers at a socket address: a live server, nothing (refused), or no file at all. */
type ProbeResult = 'live' | 'refused' | 'missing';

/** Connects once to see whether a live server answers `address` (the probe is closed at once). */
async function probe(target: ResolvedUnixEndpoint): Promise<ProbeResult> {
  const result = await probeEndpoint(target.address, undefined);
  if (result.isLive) return 'live';
  const code = (result.error as { code?: unknown } | null)?.code;
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ENOENT') return 'missing';
  throw ioError('checking for a live server at', target.endpoint, result.error);
}

function lstatOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(file);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Makes sure no live server answers the path and nothing but a stale socket is in the way;
 * removes a stale socket file. Never touches a live server's socket or a non-socket file.
 */
async function clearPath(target: ResolvedUnixEndpoint): Promise<void> {
  if (target.isAbstract) {
    // No file: a live server is the only thing that can hold the name.
    if ((await probe(target)) === 'live') throw new EndpointInUseError(target.endpoint);
    return;
  }
  const file = target.address;
  let stats: fs.Stats | undefined;
  try {
    stats = lstatOrUndefined(file);
  } catch (error) {
    throw ioError('inspecting', target.endpoint, error);
  }
  if (stats === undefined) return;
  if (!stats.isSocket()) {
    throw new InvalidEndpointError(
      target.endpoint,
      'a file that is not a socket exists at this path; it was left untouched (remove it or choose another path)',
    );
  }
  const state = await probe(target);
  if (state === 'live') throw new EndpointInUseError(target.endpoint);
  if (state === 'missing') return;
  // Stale: a socket file nobody listens on (its server died). Remove it only if it is still
  // the very file we inspected, so a server that just bound there is not robbed of its path.
  try {
    const again = lstatOrUndefined(file);
    if (again?.isSocket() && again.dev === stats.dev && again.ino === stats.ino) fs.unlinkSync(file);
  } catch (error) {
    throw ioError('removing the stale socket file', target.endpoint, error);
  }
}

// Creating the socket file with mode 0600 and no window where it is wider:
//
// bind(2) creates the file with 0777 & ~umask, and Node has no option to pass a mode. Two
// ways out: set process.umask(0o177) around the synchronous bind, or bind where nobody else
// can reach the file and publish it afterwards. We do the second. The umask is process-wide,
// so files that libuv's thread pool creates at the same moment (fs.promises.writeFile in
// another part of the program) would silently get the wrong mode; and libuv unlinks the
// path it bound when the server closes, unconditionally, which would delete a socket file
// someone else created at our path in the meantime.
//
// So: mkdtemp a 0700 directory next to the target (same file system), bind "<dir>/s" there,
// chmod it 0600, then link(2) it to the target path. link never replaces an existing file
// (EEXIST: somebody bound the path since we checked → EndpointInUseError), unlike rename.
// The private name is unlinked and the directory removed at once; libuv's unlink-on-close
// then hits a name that no longer exists. On close we remove the target only if its dev/ino
// are still those of the file we linked.
//
// When "<dir>/s" would not fit in sun_path (a path within a few bytes of the limit with a
// very short file name), we fall back to the umask method for that bind.

interface BoundSocket {
  readonly server: net.Server;
  /** dev/ino of the socket file we published, for the remove-only-if-ours check. */
  readonly identity: { readonly dev: number; readonly ino: number } | undefined;
}

async function bindPrivately(target: ResolvedUnixEndpoint, server: net.Server): Promise<BoundSocket> {
  if (target.isAbstract) {
    await listenServer(server, target.address, undefined).catch((error: unknown) => {
      if ((error as { code?: unknown }).code === 'EADDRINUSE')
        throw new EndpointInUseError(target.endpoint, { cause: error });
      throw ioError('listening on', target.endpoint, error);
    });
    return { server, identity: undefined };
  }
  const file = target.address;
  const dir = path.posix.dirname(file);
  const limit = sunPathBytes(process.platform) - 1;
  // mkdtemp(prefix) appends 6 characters.
  const privatePrefix = path.posix.join(dir, '.ipcez-');
  if (Buffer.byteLength(privatePrefix, 'utf8') + 6 + 2 > limit) return bindWithUmask(target, server);
  let privateDir: string;
  try {
    privateDir = fs.mkdtempSync(privatePrefix);
  } catch (error) {
    throw ioError('listening on', target.endpoint, error);
  }
  const privateFile = path.posix.join(privateDir, 's');
  try {
    try {
      await listenServer(server, privateFile, undefined);
      fs.chmodSync(privateFile, 0o600);
    } catch (error) {
      throw ioError('listening on', target.endpoint, error);
    }
    try {
      fs.linkSync(privateFile, file);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'EEXIST')
        throw new EndpointInUseError(target.endpoint, { cause: error });
      throw ioError('listening on', target.endpoint, error);
    }
    const stats = fs.lstatSync(file);
    return { server, identity: { dev: stats.dev, ino: stats.ino } };
  } catch (error) {
    if (server.listening) {
      server.close();
      await once(server, 'close');
    }
    throw error;
  } finally {
    fs.rmSync(privateDir, { recursive: true, force: true });
  }
}

async function bindWithUmask(target: ResolvedUnixEndpoint, server: net.Server): Promise<BoundSocket> {
  const previous = process.umask(0o177);
  let bound: Promise<void>;
  try {
    // server.listen(path) binds synchronously in this call (outside cluster workers), so
    // the umask is in force for exactly the bind(2) that creates the file.
    bound = listenServer(server, target.address, undefined);
  } finally {
    process.umask(previous);
  }
  try {
    await bound;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EADDRINUSE')
      throw new EndpointInUseError(target.endpoint, { cause: error });
    throw ioError('listening on', target.endpoint, error);
  }
  const stats = fs.lstatSync(target.address);
  return { server, identity: { dev: stats.dev, ino: stats.ino } };
}

/** Options of {@link listenUnix}: the common listen options, plus `verifyPeer`. */
export interface UnixListenOptions extends ListenOptions {
  /**
   * Decides, per accepted connection and before anything of it is read, whether to serve it:
   * a socket it refuses (or whose check throws or rejects) is closed at once and never handed
   * to the connection handler. Given the accepted `net.Socket` (e.g. to read the peer's uid
   * with `peerCredentials` from `@ipcez/ack`: an abstract `@name` socket has no file mode, so
   * any local user may connect to it). Default: serve every connection.
   */
  readonly verifyPeer?: (socket: net.Socket) => boolean | Promise<boolean>;
}

/**
 * A Unix domain socket listener: the core's stream listener over the bound `net.Server`. It
 * **owns** its server handle, its socket file (removed on close if it is still the one it
 * created) and every connection it accepted (closed on close).
 */
function startListener(
  bound: BoundSocket,
  target: ResolvedUnixEndpoint,
  options: ResolvedCommonOptions,
  verifyPeer: UnixListenOptions['verifyPeer'],
  limits: ResolvedListenerLimits,
): Listener {
  const { identity } = bound;
  return startStreamListener(bound.server, {
    verifyPeer,
    limits,
    transport: 'unix',
    endpoint: target.endpoint,
    signal: options.signal,
    beforeClose: options.beforeClose,
    maxMessageBytes: options.maxMessageBytes,
    highWaterMark: options.highWaterMark,
    failure: (error) => ioError('accepting on', target.endpoint, error),
    // Last in close(): remove the socket file if it is still ours.
    release: () => {
      if (identity === undefined) return;
      try {
        const stats = lstatOrUndefined(target.address);
        if (stats?.dev === identity.dev && stats.ino === identity.ino) fs.unlinkSync(target.address);
      } catch {
        // Already gone or no longer ours to remove: nothing to do.
      }
    },
  });
}

/**
 * Listens on a Unix domain socket.
 *
 * Order (the README, and `@ipcez/ack` for the signals): resolve the endpoint
 * and check its length → make sure no live server answers it (else `EndpointInUseError`,
 * touching nothing) and remove a stale socket file → await `options.beforeBind(endpoint)` →
 * bind, creating the socket file with mode 0600 without any moment where it is wider.
 *
 * **Platform behaviour.** POSIX only. `@name` binds the Linux abstract namespace: no file,
 * and no file permissions (any local process may connect). The liveness check connects once
 * to an existing socket: a live server there sees one connection open and close.
 *
 * @param endpoint - a socket path (absolute or relative to `process.cwd()`) or `@name`.
 * @param options - `signal` (before ready: rejects; after: closes the listener),
 *   `maxMessageBytes` and `highWaterMark` for accepted connections, `beforeBind`, the
 *   per-listener limits (`maxConnections`, `maxPartialBytes`, `frameTimeoutMs`,
 *   `idleTimeoutMs`, `onRefused`), `verifyPeer` (see {@link UnixListenOptions}).
 * @returns the listener; `listener.endpoint` is the absolute path (or `@name`).
 * @throws TypeError / RangeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, for a non-string
 *   endpoint or bad options.
 * Rejects with `EndpointInUseError` (`IPCEZ_ERR_ENDPOINT_IN_USE`) where a live server
 * answers, `InvalidEndpointError` (`IPCEZ_ERR_INVALID_ENDPOINT`) for a path too long or a
 * non-socket file at the path (never deleted), `IoError` (`IPCEZ_ERR_IO`, OS error as
 * `cause`: missing directory, permissions ...), `UnsupportedPlatformError`
 * (`IPCEZ_ERR_UNSUPPORTED_PLATFORM`), `beforeBind`'s error, or `signal.reason`.
 * @example
 * ```ts
 * const listener = await listenUnix('/tmp/app.sock');
 * listener.connectionHandler((connection) => {
 *   connection.messageHandler((r) => { if (r.ok) void connection.send(r.message); });
 * });
 * ```
 */
export function listenUnix(endpoint: string, options?: UnixListenOptions): Promise<Listener> {
  if (typeof endpoint !== 'string') throw invalidArgError(`endpoint must be a string, got ${typeof endpoint}`);
  const verifyPeer = options?.verifyPeer;
  if (verifyPeer !== undefined && typeof verifyPeer !== 'function') {
    throw invalidArgError('options.verifyPeer must be a function');
  }
  return listenResolved(endpoint, resolveCommonOptions(options), verifyPeer, resolveListenerLimits(options));
}

async function listenResolved(
  endpoint: string,
  options: ResolvedCommonOptions,
  verifyPeer: UnixListenOptions['verifyPeer'],
  limits: ResolvedListenerLimits,
): Promise<Listener> {
  const { signal, beforeBind } = options;
  signal?.throwIfAborted();
  if (process.platform === 'win32') throw new UnsupportedPlatformError('Unix domain sockets', process.platform);
  const target = resolveUnixEndpoint(endpoint);
  await clearPath(target);
  signal?.throwIfAborted();
  await beforeBind?.(target.endpoint);
  signal?.throwIfAborted();
  const bound = await bindPrivately(target, net.createServer());
  const listener = startListener(bound, target, options, verifyPeer, limits);
  if (signal?.aborted) {
    await listener.close();
    signal.throwIfAborted();
  }
  return listener;
}
