import { InvalidEndpointError, UnsupportedPlatformError, WsError, invalidArgError } from '@ipcez/core';
import type { Connection } from '@ipcez/core';
import { parseWsEndpoint } from '../endpoint.js';
import type { WsEndpoint } from '../endpoint.js';
import { resolveConnectionOptions } from '../options.js';
import type { ResolvedConnectionOptions, WsConnectOptions } from '../options.js';
import { createWsConnection } from '../create-ws-connection.js';
import { BrowserSocketAdapter } from './browser-socket-adapter.js';
import { globalWebSocket } from './browser-web-socket.js';

/** Options a page's WebSocket cannot honour: the browser owns TLS trust, certificates and headers. */
const NODE_ONLY_OPTIONS = ['headers', 'ca', 'cert', 'key', 'passphrase', 'servername'] as const;

/**
 * Connects to a WebSocket listener from a browser, with the global `WebSocket`, and resolves
 * with an open `Connection` carrying one ipcez message per binary WebSocket message. This is
 * the `browser` export condition's build of `connectWs`: same signature and contract as the
 * Node build, with the browser's limits (see the README, "Browsers").
 *
 * @param endpoint - `ws://host:port/path` or `wss://host:port/path`.
 * @param options - `WsConnectOptions`; `headers`, `ca`, `cert`, `key`, `passphrase`,
 *   `servername` and `rejectUnauthorized: false` are refused.
 * @returns the open connection. It **owns** its WebSocket.
 * @throws TypeError/RangeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, for a non-string
 *   endpoint, a bad option or a Node-only option.
 * @throws (rejects) InvalidEndpointError (`IPCEZ_ERR_INVALID_ENDPOINT`); UnsupportedPlatformError
 *   (`IPCEZ_ERR_UNSUPPORTED_PLATFORM`) without a global `WebSocket`; WsError (`IPCEZ_ERR_WS`)
 *   when the connection fails (a browser does not say why: refused, HTTP status and TLS
 *   failures look the same); `signal.reason` when aborted.
 * @example
 * ```ts
 * const connection = await connectWs('wss://example.com/ipc');
 * await connection.send(new Uint8Array([1, 2, 3]));
 * ```
 */
export function connectWs(endpoint: string, options: WsConnectOptions = {}): Promise<Connection> {
  const resolved = resolveConnectionOptions(options);
  for (const name of NODE_ONLY_OPTIONS) {
    if (options[name] !== undefined) {
      throw invalidArgError(
        `options.${name} is not supported in browsers: the page's WebSocket uses the browser's own TLS trust, certificates and headers`,
      );
    }
  }
  if (options.rejectUnauthorized === false) {
    throw invalidArgError('options.rejectUnauthorized: false is not supported in browsers');
  }
  let parsed: WsEndpoint;
  try {
    parsed = parseWsEndpoint(endpoint);
  } catch (error) {
    if (error instanceof InvalidEndpointError) return Promise.reject(error);
    throw error;
  }
  return openBrowserClient(parsed, resolved);
}

/**
 * The browser build of `isSubprotocolRefused`: a page is not told why a handshake failed (a
 * listener that selected none of the offered subprotocols looks like any other failure), so
 * it is always `false`.
 *
 * @param _error - what `connectWs` rejected with.
 * @returns `false`.
 * @example
 * ```ts fragment
 * isSubprotocolRefused(error); // false in a browser
 * ```
 */
export function isSubprotocolRefused(_error: unknown): boolean {
  return false;
}

function openBrowserClient(endpoint: WsEndpoint, resolved: ResolvedConnectionOptions): Promise<Connection> {
  const { signal } = resolved;
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  const WebSocketClass = globalWebSocket();
  if (WebSocketClass === undefined) {
    return Promise.reject(new UnsupportedPlatformError('WebSocket clients without a global WebSocket', 'this runtime'));
  }
  const href = endpoint.url.href;
  return new Promise<Connection>((resolve, reject) => {
    const ws =
      resolved.subprotocols.length > 0
        ? new WebSocketClass(href, [...resolved.subprotocols])
        : new WebSocketClass(href);
    ws.binaryType = 'arraybuffer';
    let failure: Error | undefined;
    const onAbort = (): void => {
      failure ??= signal?.reason as Error;
      ws.close();
    };
    const timeoutMs = resolved.handshakeTimeoutMs;
    const timer = setTimeout(() => {
      failure ??= new WsError(`WebSocket handshake with ${href} did not complete within ${timeoutMs} ms`);
      ws.close();
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      ws.removeEventListener('open', onOpen);
      ws.removeEventListener('error', onError);
      ws.removeEventListener('close', onClose);
    };
    const onError = (): void => {
      failure ??= new WsError(
        `WebSocket connection to ${href} failed (the browser does not say why: no listener, an HTTP status other than 101, a wrong path or a TLS failure)`,
      );
    };
    const onClose = (event: { readonly code: number }): void => {
      cleanup();
      reject(
        failure ??
          new WsError(`WebSocket connection to ${href} closed before opening (code ${event.code})`, {
            closeCode: event.code,
          }),
      );
    };
    const onOpen = (): void => {
      cleanup();
      resolve(
        createWsConnection(
          {
            endpoint: href,
            maxMessageBytes: resolved.maxMessageBytes,
            highWaterMark: resolved.highWaterMark,
            closeTimeoutMs: resolved.closeTimeoutMs,
            subprotocol: ws.protocol,
          },
          (sink) => new BrowserSocketAdapter(ws, sink, { endpoint: href, maxMessageBytes: resolved.maxMessageBytes }),
        ),
      );
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    ws.addEventListener('open', onOpen);
    ws.addEventListener('error', onError);
    ws.addEventListener('close', onClose);
  });
}
