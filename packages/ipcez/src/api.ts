import { addAbortListener } from 'node:events';
import type { Socket as NetSocket } from 'node:net';
import { DEFAULT_NEGOTIATION_TIMEOUT_MS, invalidArgError, resolveListenerLimits } from '@ipcez/core';
import type { Connection, IpcezError, Listener, Transport } from '@ipcez/core';
import { pipeTransport } from '@ipcez/transport-pipe';
import { unixTransport } from '@ipcez/transport-unix';
import { wsTransport } from '@ipcez/transport-ws';
import { acquireListenerLock, peerCredentials } from '@ipcez/ack';
import { WS_SUBPROTOCOL, openAckedWsClient, wrapAcceptedWs } from './acked-connection.js';
import { lookUpMarkerEarly, openAckedClient, prepareAckedListener } from './acks.js';
import { debug, traceConnection } from './debug.js';
import { detectTransport } from './detect.js';
import type { Detection } from './detect.js';
import type { ConnectOptions, ListenOptions, WithDetect } from './options.js';
import { IpcezServer } from './server.js';
import type { Server } from './server.js';
import { resolveRetry, withRetry } from './retry.js';
import { IpcezSocket } from './socket.js';
import type { Socket } from './socket.js';

const DEFAULT_ACK_TIMEOUT_MS = 5000;

function transportFor(detection: Detection): Transport {
  switch (detection.transport) {
    case 'unix':
      return unixTransport;
    case 'pipe':
      return pipeTransport;
    case 'ws':
      return wsTransport;
  }
}

function resolveAck(detection: Detection, ack: boolean | undefined): boolean {
  if (ack !== undefined && typeof ack !== 'boolean') throw invalidArgError(`ack must be a boolean, got ${typeof ack}`);
  // Acks are on by default locally; over WebSocket they are opt-in (docs/PROTOCOL.md §5.6).
  return ack ?? detection.transport !== 'ws';
}

function resolveAckTimeout(value: number | undefined): number {
  if (value === undefined) return DEFAULT_ACK_TIMEOUT_MS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgError(`ackTimeoutMs must be a positive number of milliseconds, got ${String(value)}`, 'range');
  }
  return value;
}

/** Copies the keys whose value is defined (options are `exactOptionalPropertyTypes`). */
function defined<T extends object>(source: T): Partial<T> {
  return Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** What every transport takes; anything else is a WebSocket option. */
const COMMON_TRANSPORT_OPTIONS = new Set(['signal', 'maxMessageBytes', 'highWaterMark']);

/** What every transport's `listen` takes besides those (the per-listener limits). */
const LISTEN_TRANSPORT_OPTIONS = new Set([
  'maxConnections',
  'maxPartialBytes',
  'frameTimeoutMs',
  'idleTimeoutMs',
  'onRefused',
]);

/** The options the chosen transport takes: everything but detection and acks. */
function transportOptions(
  detection: Detection,
  options: ConnectOptions | ListenOptions,
  isListen = false,
): Record<string, unknown> {
  const {
    target: _t,
    os: _o,
    ack: _a,
    ackTimeoutMs: _m,
    env: _e,
    platform: _p,
    retry: _r,
    negotiationTimeoutMs: _n,
    allowOtherUsers: _u,
    sendTimeoutMs: _s,
    ...rest
  } = options as WithDetect<ConnectOptions & ListenOptions>;
  const picked: Record<string, unknown> = defined(rest);
  if (picked['subprotocols'] !== undefined) {
    throw invalidArgError(
      `subprotocols: not an option of connect/listen (ipcez offers and selects ${WS_SUBPROTOCOL} itself, for acks)`,
    );
  }
  if (detection.transport !== 'ws') {
    const wsOnly = Object.keys(picked).filter(
      (key) => !COMMON_TRANSPORT_OPTIONS.has(key) && !(isListen && LISTEN_TRANSPORT_OPTIONS.has(key)),
    );
    if (wsOnly.length > 0) {
      throw invalidArgError(
        `${wsOnly.join(', ')}: not an option of local endpoints (WebSocket-only, or unknown); this endpoint is ${detection.transport}`,
      );
    }
  }
  return picked;
}

function resolveSendTimeout(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 2_147_483_647) {
    throw invalidArgError(`sendTimeoutMs must be a positive number of milliseconds, got ${String(value)}`, 'range');
  }
  return value;
}

function resolveNegotiationTimeout(value: number | undefined): number {
  if (value === undefined) return DEFAULT_NEGOTIATION_TIMEOUT_MS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgError(
      `negotiationTimeoutMs must be a positive number of milliseconds, got ${String(value)}`,
      'range',
    );
  }
  return value;
}

/** Detection and the ack settings, checked before any I/O (shared by connect and listen). */
function prepare(
  endpoint: string,
  options: ConnectOptions | ListenOptions,
): { detection: Detection; ack: boolean; ackTimeoutMs: number; sendTimeoutMs: number | undefined } {
  const detectInputs = options as WithDetect<ConnectOptions>;
  const detection = detectTransport(
    endpoint,
    defined({ target: options.target, os: options.os, env: detectInputs.env, platform: detectInputs.platform }),
  );
  const ack = resolveAck(detection, options.ack);
  const ackTimeoutMs = resolveAckTimeout(options.ackTimeoutMs);
  const sendTimeoutMs = resolveSendTimeout(options.sendTimeoutMs);
  options.signal?.throwIfAborted();
  return { detection, ack, ackTimeoutMs, sendTimeoutMs };
}

/**
 * Connects to an endpoint, choosing the transport from the endpoint string and the
 * `target`/`os` environment (or options): a `ws://`/`wss://` URL is WebSocket; anything
 * else is a Unix socket path (`os=linux`) or a Windows pipe name (`os=windows`).
 *
 * On local transports delivery acknowledgement is on by default (protocol v2 with an ipcez
 * listener, else the endpoint's signal pair); over WebSocket it is opt-in: `ack: true` offers
 * the `ipcez.v2` subprotocol and fails with `AckUnavailableError` against a server that does not
 * speak it. Each acked `sendMessage` resolves once the recipient read it (docs/PROTOCOL.md §5).
 *
 * @param endpoint - a socket path (`/tmp/app.sock`, `./rel.sock`, `@abstract`), a pipe name
 *   (`app` or `\\.\pipe\app`), or a `ws://`/`wss://` URL.
 * @param options - {@link ConnectOptions}.
 * @returns the connected {@link Socket}.
 * @throws DetectionError (`IPCEZ_ERR_DETECTION`), UnsupportedCombinationError
 *   (`IPCEZ_ERR_UNSUPPORTED_COMBINATION`), InvalidEndpointError (`IPCEZ_ERR_INVALID_ENDPOINT`)
 *   from detection; IoError (`IPCEZ_ERR_IO`: refused, not found, permission) or WsError
 *   (`IPCEZ_ERR_WS`) when connecting fails; AckUnavailableError (`IPCEZ_ERR_ACK_UNAVAILABLE`)
 *   when acks are on and named signals cannot work here, or (WebSocket) the server does not
 *   select `ipcez.v2` or does not say `hello 2` first within `ackTimeoutMs`; TypeError/RangeError
 *   (`IPCEZ_ERR_INVALID_ARG`) for bad options; `signal.reason` when aborted.
 * @example
 * ```ts
 * const socket = await connect('/tmp/app.sock', { target: 'local', os: 'linux' });
 * await socket.sendMessage('hello');
 * ```
 */
export async function connect(endpoint: string, options: ConnectOptions = {}): Promise<Socket> {
  const { detection, ack, ackTimeoutMs, sendTimeoutMs } = prepare(endpoint, options);
  const retry = resolveRetry(options.retry);
  const transport = transportFor(detection);
  const open = (): Promise<Connection> =>
    withRetry(endpoint, () => transport.connect(endpoint, transportOptions(detection, options)), retry, options.signal);
  if (detection.transport === 'ws') {
    // WebSocket: the ipcez.v2 subprotocol when acks are asked for (docs/PROTOCOL.md §5.6).
    const acked = await openAckedWsClient(
      (subprotocols) =>
        withRetry(
          endpoint,
          () => {
            const wsOptions: Record<string, unknown> = { ...transportOptions(detection, options), subprotocols };
            return transport.connect(endpoint, wsOptions);
          },
          retry,
          options.signal,
        ),
      ack,
      ackTimeoutMs,
      options.signal,
    );
    debug('client %s: ack mode %s', acked.endpoint, acked.ackMode);
    return new IpcezSocket(traceConnection(acked, 'client', acked.isAcked), acked, sendTimeoutMs);
  }
  // Local: protocol v2 where the listener advertises it, else seed mode (docs/PROTOCOL.md §5).
  // The marker is looked up before connecting (the first lookup of a process loads the native
  // backend), so that HELLO follows the connect at once: the listener waits only briefly.
  const early = lookUpMarkerEarly(endpoint);
  await early.isAdvertised;
  const connection = await open();
  const acked = await openAckedClient(connection, open, ack, ackTimeoutMs, options.signal, early);
  debug('client %s: ack mode %s', acked.endpoint, acked.ackMode);
  return new IpcezSocket(traceConnection(acked, 'client', acked.isAcked), acked, sendTimeoutMs);
}

/**
 * Listens on an endpoint, choosing the transport like {@link connect}. A `ws://host:port/path`
 * endpoint serves WebSocket (port 0 picks a free port; `server.endpoint` reports it).
 *
 * On local transports with acks on (the default) the order the `@ipcez/ack` README gives is kept: make sure
 * no live server answers (else `EndpointInUseError`, touching nothing), start the signal
 * pair fresh, then bind; `close()` unlinks the pair first, then removes the socket file.
 *
 * @param endpoint - as for {@link connect}.
 * @param options - {@link ListenOptions}.
 * @returns the listening {@link Server}.
 * @throws EndpointInUseError (`IPCEZ_ERR_ENDPOINT_IN_USE`) when a live server already answers;
 *   InvalidEndpointError (`IPCEZ_ERR_INVALID_ENDPOINT`) for a path over the OS limit; the
 *   detection, IoError and AckUnavailableError cases of {@link connect}.
 * @example
 * ```ts
 * await using server = await listen('/tmp/app.sock');
 * server.connectionHandler((socket) => socket.messageHandler((r) => { if (r.ok) void socket.sendMessage(r.message); }));
 * ```
 */
export async function listen(endpoint: string, options: ListenOptions = {}): Promise<Server> {
  const { detection, ack, ackTimeoutMs, sendTimeoutMs } = prepare(endpoint, options);
  const negotiationTimeoutMs = resolveNegotiationTimeout(options.negotiationTimeoutMs);
  const allowOtherUsers: unknown = options.allowOtherUsers ?? false;
  if (typeof allowOtherUsers !== 'boolean') {
    throw invalidArgError(`allowOtherUsers must be a boolean, got ${typeof allowOtherUsers}`);
  }
  // An abstract socket has no file mode: unless told otherwise, serve only this user.
  const ownUid = process.getuid?.();
  const verifyPeer =
    detection.transport === 'unix' && endpoint.startsWith('@') && !allowOtherUsers && ownUid !== undefined
      ? async (socket: NetSocket): Promise<boolean> => {
          const peer = await peerCredentials(socket);
          if (peer.uid === ownUid) return true;
          debug('refused a connection to %s from uid %d (pid %d): not this user', endpoint, peer.uid, peer.pid);
          return false;
        }
      : undefined;
  // The limits are checked here, before the listener lock and the ack signals are touched.
  const { onRefused } = resolveListenerLimits(options);
  const transport = transportFor(detection);
  // Every local listener makes the seed pair and the v2 marker, whatever its own `ack`.
  const acks = detection.transport === 'ws' ? undefined : prepareAckedListener(ack, ackTimeoutMs, negotiationTimeoutMs);
  // The transport sees the caller's signal only while listening starts: an abort after that
  // must go through server.close(), which keeps the close order (unlink the signal pair, then
  // close the listener) and releases the pair's handles.
  const userSignal = options.signal;
  const phase = userSignal === undefined ? undefined : new AbortController();
  const forward =
    userSignal === undefined ? undefined : addAbortListener(userSignal, () => phase?.abort(userSignal.reason));
  let listener: Listener;
  // Two listeners starting on one path at once: the lock makes the second one see the first as
  // live (EndpointInUseError, nothing touched) instead of restarting its signals under it.
  let lock: AsyncDisposable | undefined;
  try {
    lock =
      acks === undefined
        ? undefined
        : await acquireListenerLock(endpoint, phase === undefined ? {} : { signal: phase.signal });
    listener = await transport.listen(endpoint, {
      ...transportOptions(detection, options, true),
      // Every ipcez WebSocket listener selects ipcez.v2 when offered, whatever its own `ack`.
      ...(detection.transport === 'ws' ? { subprotocols: [WS_SUBPROTOCOL] } : {}),
      // Refusals (maxConnections) are written to the debug log, then told to the caller's hook.
      onRefused: (error: IpcezError) => {
        debug('%s (%s)', error.message, error.code);
        onRefused?.(error);
      },
      ...(phase === undefined ? {} : { signal: phase.signal }),
      // The pair is unlinked first on every closing path (close, signal, listener failure).
      ...(acks === undefined ? {} : { beforeBind: acks.beforeBind, beforeClose: acks.unlink }),
      ...(verifyPeer === undefined ? {} : { verifyPeer }),
    });
  } catch (error) {
    // The pair exists only if beforeBind ran and the bind then failed: remove it again.
    acks?.unlink();
    await acks?.close();
    throw error;
  } finally {
    forward?.[Symbol.dispose]();
    await lock?.[Symbol.asyncDispose]();
  }
  debug('listening on %s (%s, acks %s)', listener.endpoint, listener.transport, ack ? 'on' : 'off');
  let onAbort: Disposable | undefined;
  const server = new IpcezServer(listener, {
    wrap: acks === undefined ? wrapAcceptedWs(ack, ackTimeoutMs) : acks.wrap,
    isAcked: ack,
    sendTimeoutMs,
    beforeClose: () => {
      onAbort?.[Symbol.dispose]();
    },
    afterClose: async () => {
      await acks?.close();
    },
  });
  if (userSignal !== undefined) {
    onAbort = addAbortListener(userSignal, () => {
      void server.close();
    });
  }
  return server;
}
