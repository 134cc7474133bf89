import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import {
  DEFAULT_CLOSE_TIMEOUT_MS,
  describeValue as describe,
  integerOption,
  invalidArgError,
  resolveCommonOptions,
} from '@ipcez/core';
import type { ConnectOptions, ListenOptions } from '@ipcez/core';

/** PEM text or DER/PEM bytes: one item or a list. */
export type TlsMaterial = string | Uint8Array | readonly (string | Uint8Array)[];

/** Default interval between keepalive pings, in milliseconds: 30 s. */
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 30_000;

/**
 * Default time the graceful close waits for queued sends and the closing handshake before
 * aborting: the one close timeout of every ipcez connection (`@ipcez/core`), 5 s.
 */
export { DEFAULT_CLOSE_TIMEOUT_MS };

/** Default time the opening handshake (TCP, TLS, HTTP upgrade) may take before `connectWs` fails: 10 s. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Options shared by the client and the listener's accepted connections. */
export interface WsConnectionOptions {
  /**
   * Interval between keepalive pings in milliseconds (default 30 000). `0` turns keepalive
   * off. A peer that answers none of them (a frozen process, a vanished network) within
   * `keepaliveTimeoutMs` ends the connection with `ConnectionLostError('keepalive-timeout')`.
   * Any message received also counts as a sign of life. Node only: browsers cannot send pings
   * (they do answer the listener's).
   */
  readonly keepaliveIntervalMs?: number;
  /** How long to wait for the pong after a ping, in milliseconds (default: `keepaliveIntervalMs`). */
  readonly keepaliveTimeoutMs?: number;
  /**
   * How long a graceful `close()` waits for queued sends and the closing handshake before
   * aborting the socket, in milliseconds (default 5000, `DEFAULT_CLOSE_TIMEOUT_MS`).
   */
  readonly closeTimeoutMs?: number;
  /**
   * Negotiate permessage-deflate compression (default `false`: off). Node only; a browser
   * always offers it, and the listener decides.
   */
  readonly perMessageDeflate?: boolean;
  /**
   * WebSocket subprotocols (`Sec-WebSocket-Protocol` tokens). A client offers these, in order
   * of preference; when it offers any, a listener that selects none makes `connectWs` fail
   * (`isSubprotocolRefused(error)` tells that case apart). A listener selects the first of its
   * own that the client offered, or none. `wsSubprotocol(connection)` reports the outcome.
   * Default: none. (The `ipcez` facade uses `ipcez.v2` for acknowledgements over WebSocket,
   * see docs/PROTOCOL.md §5.6, and sets this itself.)
   */
  readonly subprotocols?: readonly string[];
}

/**
 * Options of `connectWs` (and `wsTransport.connect`). The TLS options apply to `wss://`
 * endpoints and, like `headers`, are Node-only: in a browser they throw `IPCEZ_ERR_INVALID_ARG`,
 * because the page's WebSocket uses the browser's own trust store and cookies.
 */
export interface WsConnectOptions extends ConnectOptions, WsConnectionOptions {
  /** Extra HTTP headers for the opening handshake (e.g. `authorization`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Certificate authorities to trust instead of the system's (e.g. a self-signed certificate). */
  readonly ca?: TlsMaterial;
  /** Client certificate chain (PEM), for listeners that require one. */
  readonly cert?: TlsMaterial;
  /** Private key of the client certificate (PEM). */
  readonly key?: TlsMaterial;
  /** Passphrase of `key`. */
  readonly passphrase?: string;
  /**
   * Verify the server certificate (default `true`). `false` accepts any certificate, which
   * defeats TLS against an active attacker: for tests only; prefer `ca`.
   */
  readonly rejectUnauthorized?: boolean;
  /** TLS server name (SNI) and the name the certificate is checked against; default: the URL host. */
  readonly servername?: string;
  /**
   * How long the opening handshake (TCP connect, TLS, HTTP upgrade) may take, in
   * milliseconds, before `connectWs` fails with `WsError` (default 10 000,
   * `DEFAULT_HANDSHAKE_TIMEOUT_MS`).
   */
  readonly handshakeTimeoutMs?: number;
}

/** What a listener's `verifyClient` sees of an opening handshake. */
export interface WsUpgradeRequest {
  /** The path asked for (always the listener's path: other paths were already refused with 404). */
  readonly path: string;
  /** The `Origin` header: set by browsers (the page's origin), usually absent from other clients. */
  readonly origin: string | undefined;
  /** The request headers, names in lower case. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The client's IP address. */
  readonly remoteAddress: string | undefined;
}

/** Options of `listenWs` (and `wsTransport.listen`). */
export interface WsListenOptions extends ListenOptions, WsConnectionOptions {
  /** Server certificate chain (PEM). Required for `wss://`. */
  readonly cert?: TlsMaterial;
  /** Private key of `cert` (PEM). Required for `wss://`. */
  readonly key?: TlsMaterial;
  /** Passphrase of `key`. */
  readonly passphrase?: string;
  /** Certificate authorities that client certificates must chain to (with `requestClientCert`). */
  readonly ca?: TlsMaterial;
  /**
   * Require every client to present a certificate that chains to `ca` (mutual TLS); clients
   * without one fail the TLS handshake. Default `false`.
   */
  readonly requestClientCert?: boolean;
  /**
   * Decides, per opening handshake, whether to accept the client: return `false` to refuse
   * it with HTTP 403. Use it to check a token header, or the `origin` of browser pages: any
   * web page the user visits can open a WebSocket to a listener on their machine. Called
   * synchronously; if it throws, the client is refused with HTTP 500 and the exception
   * propagates (an uncaught exception, like any other callback's).
   * Default: accept every client that passes the `allowedOrigins` check.
   */
  readonly verifyClient?: (request: WsUpgradeRequest) => boolean;
  /**
   * Which browser pages may open a connection (cross-site WebSocket hijacking: any page the
   * user visits can open `ws://127.0.0.1:port`). A handshake that carries an `Origin` header
   * (browsers always send one; other clients send none and are unaffected) is accepted only
   * when that origin is the listener's own (same scheme-less `host[:port]` as the request's
   * `Host`), or listed here (exact `scheme://host[:port]` strings, e.g.
   * `'https://app.example.com'`); `'*'` accepts every origin. Refused: HTTP 403, before
   * `verifyClient` runs. Default: same-origin only.
   */
  readonly allowedOrigins?: readonly string[] | '*';
  /**
   * Serve on an existing `http.Server` or `https.Server` (one port for the application and
   * ipcez) instead of creating one: the listener handles WebSocket upgrades for its path
   * only, leaves plain HTTP requests and other upgrade paths to the application, waits for
   * the server to be listening, and does not close the server on `close()` (it **borrows**
   * it). The endpoint's scheme must match (`wss://` for an `https.Server`); its port is
   * ignored (the server's is reported); TLS options are the server's business (`cert`, `key`,
   * `ca`, `passphrase`, `requestClientCert` are refused with it). Node only.
   */
  readonly server?: HttpServer | HttpsServer;
}

/** Connection settings after validation. Module-private. */
export interface ResolvedConnectionOptions {
  readonly maxMessageBytes: number;
  readonly highWaterMark: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly perMessageDeflate: boolean;
  readonly handshakeTimeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly beforeClose: (() => void) | undefined;
  readonly subprotocols: readonly string[];
}

/** An HTTP token (RFC 9110 §5.6.2), what a `Sec-WebSocket-Protocol` entry must be. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkSubprotocols(value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((p) => typeof p === 'string' && TOKEN.test(p))) {
    throw invalidArgError(
      `options.subprotocols must be an array of subprotocol names (HTTP tokens), got ${describe(value)}`,
    );
  }
  if (new Set(value).size !== value.length) {
    throw invalidArgError(`options.subprotocols must not repeat a name, got ${describe(value)}`);
  }
  return [...(value as string[])];
}

function checkObject(value: unknown, name: string): void {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw invalidArgError(`${name} must be an object, got ${describe(value)}`);
  }
}

function checkMs(value: unknown, name: string, min: number): number | undefined {
  return integerOption(value, name, min);
}

function checkBoolean(value: unknown, name: string): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') {
    throw invalidArgError(`${name} must be a boolean, got ${describe(value)}`);
  }
  return value;
}

/** Validates the TLS material options (strings, byte arrays, or lists of them). Module-private. */
export function checkTlsMaterial(value: unknown, name: string): void {
  if (value === undefined) return;
  const items: readonly unknown[] = Array.isArray(value) ? value : [value];
  for (const item of items) {
    if (typeof item !== 'string' && !(item instanceof Uint8Array)) {
      throw invalidArgError(`${name} must be a string, a Uint8Array, or a list of them; got ${describe(item)}`);
    }
  }
}

/** Validates a string option. Module-private. */
export function checkString(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'string') {
    throw invalidArgError(`${name} must be a string, got ${describe(value)}`);
  }
}

/** Validates a headers option. Module-private. */
export function checkHeaders(value: unknown): void {
  checkObject(value, 'options.headers');
  if (value === undefined) return;
  for (const [name, header] of Object.entries(value as Record<string, unknown>)) {
    if (typeof header !== 'string') {
      throw invalidArgError(`options.headers[${JSON.stringify(name)}] must be a string, got ${describe(header)}`);
    }
  }
}

/**
 * Validates the options every WebSocket connection takes, once, into their resolved form.
 * Module-private.
 *
 * @throws TypeError/RangeError (`IPCEZ_ERR_INVALID_ARG`) for a bad option.
 */
export function resolveConnectionOptions(options: unknown): ResolvedConnectionOptions {
  const common = resolveCommonOptions(options as ConnectOptions | undefined);
  const o = (options ?? {}) as WsConnectOptions & WsListenOptions;
  const keepaliveIntervalMs =
    checkMs(o.keepaliveIntervalMs, 'options.keepaliveIntervalMs', 0) ?? DEFAULT_KEEPALIVE_INTERVAL_MS;
  const keepaliveTimeoutMs = checkMs(o.keepaliveTimeoutMs, 'options.keepaliveTimeoutMs', 1) ?? keepaliveIntervalMs;
  const closeTimeoutMs = checkMs(o.closeTimeoutMs, 'options.closeTimeoutMs', 1) ?? DEFAULT_CLOSE_TIMEOUT_MS;
  const handshakeTimeoutMs =
    checkMs(o.handshakeTimeoutMs, 'options.handshakeTimeoutMs', 1) ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const perMessageDeflate = checkBoolean(o.perMessageDeflate, 'options.perMessageDeflate') ?? false;
  return {
    maxMessageBytes: common.maxMessageBytes,
    highWaterMark: common.highWaterMark,
    keepaliveIntervalMs,
    keepaliveTimeoutMs: keepaliveTimeoutMs === 0 ? 1 : keepaliveTimeoutMs,
    closeTimeoutMs,
    perMessageDeflate,
    handshakeTimeoutMs,
    signal: common.signal,
    beforeClose: common.beforeClose,
    subprotocols: checkSubprotocols(o.subprotocols),
  };
}

/** Validates the Node client's TLS and header options. Module-private. */
export function checkClientOptions(options: WsConnectOptions): void {
  checkHeaders(options.headers);
  checkTlsMaterial(options.ca, 'options.ca');
  checkTlsMaterial(options.cert, 'options.cert');
  checkTlsMaterial(options.key, 'options.key');
  checkString(options.passphrase, 'options.passphrase');
  checkString(options.servername, 'options.servername');
  checkBoolean(options.rejectUnauthorized, 'options.rejectUnauthorized');
}

/** Validates the listener's TLS options. Module-private. */
export function checkListenerOptions(options: WsListenOptions): void {
  checkTlsMaterial(options.cert, 'options.cert');
  checkTlsMaterial(options.key, 'options.key');
  checkTlsMaterial(options.ca, 'options.ca');
  checkString(options.passphrase, 'options.passphrase');
  checkBoolean(options.requestClientCert, 'options.requestClientCert');
  const origins: unknown = options.allowedOrigins;
  if (
    origins !== undefined &&
    origins !== '*' &&
    !(Array.isArray(origins) && origins.every((o) => typeof o === 'string'))
  ) {
    throw invalidArgError(`options.allowedOrigins must be '*' or an array of origin strings, got ${describe(origins)}`);
  }
  if (options.verifyClient !== undefined && typeof options.verifyClient !== 'function') {
    throw invalidArgError(`options.verifyClient must be a function, got ${describe(options.verifyClient)}`);
  }
  if (options.server !== undefined) {
    const server: unknown = options.server;
    const looksLikeServer =
      typeof server === 'object' &&
      server !== null &&
      typeof (server as { address?: unknown }).address === 'function' &&
      typeof (server as { on?: unknown }).on === 'function';
    if (!looksLikeServer) {
      throw invalidArgError(`options.server must be an http.Server or https.Server, got ${describe(server)}`);
    }
    const tls = (['cert', 'key', 'ca', 'passphrase', 'requestClientCert'] as const).filter(
      (k) => options[k] !== undefined,
    );
    if (tls.length > 0) {
      throw invalidArgError(`options.${tls.join(', options.')}: TLS is set on the server given as options.server`);
    }
  }
  if (options.beforeBind !== undefined && typeof options.beforeBind !== 'function') {
    throw invalidArgError(`options.beforeBind must be a function, got ${describe(options.beforeBind)}`);
  }
}
