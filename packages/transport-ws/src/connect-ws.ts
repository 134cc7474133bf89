import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { InvalidEndpointError, IoError, WsError } from '@ipcez/core';
import type { Connection } from '@ipcez/core';
import WebSocket from 'ws';
import type { ClientOptions } from 'ws';
import { parseWsEndpoint } from './endpoint.js';
import type { WsEndpoint } from './endpoint.js';
import { NodeSocketAdapter } from './node-socket-adapter.js';
import { toNodeTls as tls } from './node-tls.js';
import { checkClientOptions, resolveConnectionOptions } from './options.js';
import type { ResolvedConnectionOptions, WsConnectOptions } from './options.js';
import { createWsConnection } from './create-ws-connection.js';

/**
 * OpenSSL's certificate verification results, as Node reports them in `error.code`
 * (https://nodejs.org/api/tls.html, "X509 certificate error codes").
 */
const X509_ERROR_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'OUT_OF_MEM',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
]);

function isTlsFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || X509_ERROR_CODES.has(code);
}

/** The errors `connectWs` rejected with because the listener selected none of the offered subprotocols. */
const refusals = new WeakSet<object>();

/**
 * Whether `connectWs` failed because the client offered `subprotocols` and the listener
 * selected none of them (the handshake itself succeeded). Such an error is a `WsError`
 * (`IPCEZ_ERR_WS`). In a browser the page is not told why a handshake failed, so this is
 * always `false` there.
 *
 * @param error - what `connectWs` rejected with.
 * @returns `true` for a refused subprotocol.
 * @example
 * ```ts fragment
 * const connection = await connectWs(url, { subprotocols: ['chat.v1'] }).catch((error: unknown) => {
 *   if (isSubprotocolRefused(error)) console.error('that server does not speak chat.v1');
 *   throw error;
 * });
 * ```
 */
export function isSubprotocolRefused(error: unknown): boolean {
  return typeof error === 'object' && error !== null && refusals.has(error);
}

function isSystemError(error: unknown): boolean {
  return typeof (error as { syscall?: unknown } | null)?.syscall === 'string';
}

/** Turns a failure of the opening handshake into the error `connectWs` rejects with. */
function handshakeError(href: string, error: Error): Error {
  if (isTlsFailure(error)) {
    const code = (error as { code?: string }).code ?? '';
    return new WsError(`TLS handshake with ${href} failed (${code}): ${error.message}`, { cause: error });
  }
  if (isSystemError(error)) return new IoError(`cannot connect to ${href}: ${error.message}`, { cause: error });
  return new WsError(`WebSocket handshake with ${href} failed: ${error.message}`, { cause: error });
}

/**
 * Connects to a WebSocket listener (`ws://` or `wss://`) and resolves with an open
 * {@link Connection} carrying one ipcez message per binary WebSocket message.
 *
 * Certificate verification is on by default; trust a private or self-signed certificate with
 * `ca`. permessage-deflate is off unless `perMessageDeflate: true`. Keepalive pings every
 * `keepaliveIntervalMs` (30 s by default).
 *
 * **Platform behaviour.** Node: built on the `ws` package. Browsers (the package's `browser`
 * export condition): the global `WebSocket`; `headers` and the TLS options are refused there,
 * and keepalive is left to the listener's pings.
 *
 * @param endpoint - `ws://host:port/path` or `wss://host:port/path`.
 * @param options - {@link WsConnectOptions}.
 * @returns the open connection. It **owns** its socket.
 * @throws TypeError/RangeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, for a non-string
 *   endpoint or a bad option.
 * @throws (rejects) InvalidEndpointError (`IPCEZ_ERR_INVALID_ENDPOINT`) for a malformed URL or
 *   another scheme; IoError (`IPCEZ_ERR_IO`) when the TCP connection fails (`osCode`
 *   `ECONNREFUSED`, `ENOTFOUND` ...); WsError (`IPCEZ_ERR_WS`) when the handshake fails: an
 *   HTTP status other than 101 (`status`, e.g. 404 for a wrong path) or a TLS failure (the
 *   TLS error is the `cause`, its code in the message), or no answer within
 *   `handshakeTimeoutMs`; `signal.reason` when aborted.
 * @example
 * ```ts
 * const connection = await connectWs('wss://example.com:8443/ipc', { ca: readFileSync('ca.pem', 'utf8') });
 * connection.messageHandler((r) => { if (r.ok) console.log(r.message); });
 * await connection.send(new TextEncoder().encode('hello'));
 * await connection.close();
 * ```
 */
export function connectWs(endpoint: string, options: WsConnectOptions = {}): Promise<Connection> {
  const resolved = resolveConnectionOptions(options);
  checkClientOptions(options);
  let parsed: WsEndpoint;
  try {
    parsed = parseWsEndpoint(endpoint);
  } catch (error) {
    // A malformed endpoint is operational (rejects); a non-string one is a programmer error.
    if (error instanceof InvalidEndpointError) return Promise.reject(error);
    throw error;
  }
  return openClient(parsed, options, resolved);
}

function openClient(
  endpoint: WsEndpoint,
  options: WsConnectOptions,
  resolved: ResolvedConnectionOptions,
): Promise<Connection> {
  const { signal } = resolved;
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  const href = endpoint.url.href;
  const clientOptions: ClientOptions = {
    perMessageDeflate: resolved.perMessageDeflate,
    maxPayload: resolved.maxMessageBytes,
    handshakeTimeout: resolved.handshakeTimeoutMs,
    followRedirects: false,
    ...(options.headers === undefined ? {} : { headers: { ...options.headers } }),
    ...(endpoint.isSecure
      ? {
          ca: tls(options.ca),
          cert: tls(options.cert),
          key: tls(options.key),
          passphrase: options.passphrase,
          rejectUnauthorized: options.rejectUnauthorized ?? true,
          ...(options.servername === undefined ? {} : { servername: options.servername }),
        }
      : {}),
  };
  return new Promise<Connection>((resolve, reject) => {
    const ws = new WebSocket(
      href,
      resolved.subprotocols.length > 0 ? [...resolved.subprotocols] : undefined,
      clientOptions,
    );
    let failure: Error | undefined;
    let socket: Duplex | undefined;
    const onAbort = (): void => {
      failure ??= signal?.reason as Error;
      ws.terminate();
    };
    const cleanup = (): void => {
      signal?.removeEventListener('abort', onAbort);
      ws.off('upgrade', onUpgrade);
      ws.off('unexpected-response', onUnexpectedResponse);
      ws.off('open', onOpen);
      ws.off('close', onClose);
      ws.off('error', onError);
    };
    const onUpgrade = (response: IncomingMessage): void => {
      socket = response.socket;
    };
    const onUnexpectedResponse = (_request: unknown, response: IncomingMessage): void => {
      const status = response.statusCode ?? 0;
      failure ??= new WsError(
        `WebSocket handshake with ${href} failed: HTTP ${status} ${response.statusMessage ?? ''}`.trimEnd(),
        { status },
      );
      response.resume();
      ws.terminate();
    };
    const onError = (error: Error): void => {
      if (failure === undefined && resolved.subprotocols.length > 0 && error.message === 'Server sent no subprotocol') {
        failure = new WsError(
          `WebSocket handshake with ${href} failed: the server selected none of the offered subprotocols (${resolved.subprotocols.join(', ')})`,
          { cause: error },
        );
        refusals.add(failure);
        return;
      }
      // ws reports its handshakeTimeout as a plain Error with this message.
      failure ??= /handshake has timed out/i.test(error.message)
        ? new WsError(`WebSocket handshake with ${href} did not complete within ${resolved.handshakeTimeoutMs} ms`, {
            cause: error,
          })
        : handshakeError(href, error);
    };
    const onClose = (): void => {
      // Reject only once the socket is closed, so a failed connect leaves no handle behind.
      cleanup();
      ws.on('error', ignore);
      reject(failure ?? new WsError(`WebSocket handshake with ${href} failed: closed before opening`));
    };
    const onOpen = (): void => {
      cleanup();
      const connection = createWsConnection(
        {
          endpoint: href,
          ...resolved,
          remoteAddress: (socket as { remoteAddress?: string } | undefined)?.remoteAddress,
          subprotocol: ws.protocol,
        },
        (sink) =>
          new NodeSocketAdapter(ws, socket, sink, {
            endpoint: href,
            maxMessageBytes: resolved.maxMessageBytes,
            keepaliveIntervalMs: resolved.keepaliveIntervalMs,
            keepaliveTimeoutMs: resolved.keepaliveTimeoutMs,
          }),
      );
      resolve(connection);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    ws.on('upgrade', onUpgrade);
    ws.on('unexpected-response', onUnexpectedResponse);
    ws.on('open', onOpen);
    ws.on('close', onClose);
    ws.on('error', onError);
  });
}

function ignore(): void {
  // A late error after the connection attempt settled has nowhere to go.
}
