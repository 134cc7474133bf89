import { InvalidEndpointError, UnsupportedPlatformError, invalidArgError } from '@ipcez/core';
import { wsTransport } from '@ipcez/transport-ws';
import { openAckedWsClient } from './acked-connection.js';
import { IpcezSocket } from './socket.js';
import type { Socket } from './socket.js';

/** Options of `connect` in a browser: WebSocket only. */
export interface BrowserConnectOptions {
  /** Abort connecting (rejects with `signal.reason`). */
  readonly signal?: AbortSignal;
  /** Payload limit in bytes, 0 to 4 MiB (default 4 MiB). */
  readonly maxMessageBytes?: number;
  /** Queued send bytes past which sends wait (default 1 MiB). */
  readonly highWaterMark?: number;
  /**
   * Delivery acknowledgement (default `false`): `true` offers the `ipcez.v2` subprotocol, and
   * each `sendMessage` resolves once the server read it. Against a server that does not
   * speak it `connect` fails: with a `WsError` when the server selects no subprotocol (the
   * browser does not say why a handshake failed), with `AckUnavailableError` when it selects
   * `ipcez.v2` but does not say `hello 2` first in time.
   */
  readonly ack?: boolean;
  /** How long an acked send waits for its ack, and `connect` for `hello 2`, in ms (default 5000). */
  readonly ackTimeoutMs?: number;
}

const DEFAULT_ACK_TIMEOUT_MS = 5000;

const WS_URL = /^wss?:\/\//i;

/**
 * `connect` in a web page (the `browser` export condition of `ipcez`): the same `Socket` over
 * the page's global `WebSocket`. Only `ws://`/`wss://` endpoints exist in a browser; TLS trust,
 * cookies and headers are the browser's own. Acknowledgements are opt-in (`ack: true`), as in Node.
 *
 * @param endpoint - a `ws://` or `wss://` URL.
 * @param options - {@link BrowserConnectOptions}.
 * @returns the connected {@link Socket}.
 * @throws UnsupportedPlatformError (`IPCEZ_ERR_UNSUPPORTED_PLATFORM`) for a local endpoint;
 *   WsError (`IPCEZ_ERR_WS`) when the handshake fails; TypeError (`IPCEZ_ERR_INVALID_ARG`) for
 *   bad arguments or a Node-only option.
 * @example
 * ```ts
 * import { connect } from 'ipcez';
 * const socket = await connect('wss://example.test/ipc');
 * ```
 */
export async function connect(endpoint: string, options: BrowserConnectOptions = {}): Promise<Socket> {
  if (typeof endpoint !== 'string') throw invalidArgError(`endpoint must be a string, got ${typeof endpoint}`);
  if (endpoint.length === 0) throw new InvalidEndpointError(endpoint, 'the endpoint is empty');
  if (!WS_URL.test(endpoint)) {
    throw new UnsupportedPlatformError(
      `local endpoints (${JSON.stringify(endpoint)}; use a ws:// or wss:// URL)`,
      'browser',
    );
  }
  const { ack, ackTimeoutMs, ...given } = options as BrowserConnectOptions & Record<string, unknown>;
  for (const key of ['target', 'os', 'headers', 'ca', 'cert', 'key', 'subprotocols']) {
    if (given[key] !== undefined) throw invalidArgError(`${key} is not available in a browser`);
  }
  if (ack !== undefined && typeof ack !== 'boolean') throw invalidArgError(`ack must be a boolean, got ${typeof ack}`);
  if (
    ackTimeoutMs !== undefined &&
    (typeof ackTimeoutMs !== 'number' || !Number.isFinite(ackTimeoutMs) || ackTimeoutMs <= 0)
  ) {
    throw invalidArgError(
      `ackTimeoutMs must be a positive number of milliseconds, got ${String(ackTimeoutMs)}`,
      'range',
    );
  }
  const acked = await openAckedWsClient(
    (subprotocols) => wsTransport.connect(endpoint, { ...given, subprotocols }),
    ack ?? false,
    ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS,
    options.signal,
  );
  return new IpcezSocket(acked, acked);
}

/**
 * `listen` in a web page: a page cannot serve, so this always rejects.
 *
 * @returns never resolves.
 * @throws UnsupportedPlatformError (`IPCEZ_ERR_UNSUPPORTED_PLATFORM`), always.
 * @example
 * ```ts
 * await listen('ws://127.0.0.1:0/x').catch((e) => e.code); // 'IPCEZ_ERR_UNSUPPORTED_PLATFORM'
 * ```
 */
export function listen(): Promise<never> {
  return Promise.reject(new UnsupportedPlatformError('servers', 'browser'));
}
