import { InvalidEndpointError, UnsupportedPlatformError, invalidArgError } from '@ipcez/core';
import { wsTransport } from '@ipcez/transport-ws';
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
}

const WS_URL = /^wss?:\/\//i;

/**
 * `connect` in a web page (the `browser` export condition of `ipcez`): the same `Socket` over
 * the page's global `WebSocket`. Only `ws://`/`wss://` endpoints exist in a browser; TLS trust,
 * cookies and headers are the browser's own, and there are no acknowledgements.
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
  const given: Record<string, unknown> = { ...options };
  for (const key of ['ack', 'target', 'os', 'headers', 'ca', 'cert', 'key']) {
    if (given[key] !== undefined) throw invalidArgError(`${key} is not available in a browser`);
  }
  const connection = await wsTransport.connect(endpoint, options);
  return new IpcezSocket(connection, { isAcked: false, ackMode: 'off' });
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
