import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { Duplex } from 'node:stream';
import {
  ConnectionLostError,
  EndpointInUseError,
  Inbox,
  InvalidEndpointError,
  IoError,
  invalidArgError,
} from '@ipcez/core';
import type { Connection, IpcezError, Listener } from '@ipcez/core';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { parseWsEndpoint } from './endpoint.js';
import type { WsEndpoint } from './endpoint.js';
import { NodeSocketAdapter } from './node-socket-adapter.js';
import { toNodeTls } from './node-tls.js';
import { checkListenerOptions, resolveConnectionOptions } from './options.js';
import type { ResolvedConnectionOptions, WsListenOptions } from './options.js';
import { WsConnection } from './ws-connection.js';

function formatEndpoint(endpoint: WsEndpoint, port: number): string {
  const host = endpoint.hostname.includes(':') ? `[${endpoint.hostname}]` : endpoint.hostname;
  return `${endpoint.isSecure ? 'wss' : 'ws'}://${host}:${port}${endpoint.path}`;
}

function requestPath(url: string | undefined): string | undefined {
  try {
    return new URL(url ?? '/', 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

/** Answers an upgrade request that is not accepted with a bare HTTP status, then drops the socket. */
function refuseUpgrade(socket: Duplex, status: 403 | 404 | 500 | 503, text: string): void {
  socket.on('error', () => {
    // The client may already be gone; nothing to report.
  });
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => {
    socket.destroy();
  });
}

// Lifecycle:
//
//   (listenWs) bound --close()/signal--> closing: stop accepting, close each connection
//   gracefully, end the connection inbox, close the server, destroy leftover sockets --> closed

/**
 * A WebSocket listener on one host, port and path. It **owns** its HTTP(S) server, every
 * socket that server accepts, and the connections it hands out. Module-private: the package
 * exports it as the `Listener` interface.
 */
class WsListener implements Listener {
  readonly transport = 'ws' as const;
  #endpoint: string;
  #isListening = false;
  #closePromise: Promise<void> | undefined;
  readonly #parsed: WsEndpoint;
  readonly #server: Server | HttpsServer;
  readonly #wss: WebSocketServer;
  readonly #resolved: ResolvedConnectionOptions;
  readonly #sockets = new Set<Socket>();
  readonly #connections = new Set<WsConnection>();
  readonly #inbox = new Inbox<Connection, IpcezError>({
    isCleanEnd: (error) => error instanceof ConnectionLostError && error.reason === 'local-close',
  });
  #onAbort: (() => void) | undefined;
  readonly #verifyClient: WsListenOptions['verifyClient'];
  /** Serving on the application's server (`options.server`): borrowed, never closed here. */
  readonly #isAttached: boolean;

  constructor(
    parsed: WsEndpoint,
    server: Server | HttpsServer,
    resolved: ResolvedConnectionOptions,
    verifyClient: WsListenOptions['verifyClient'],
    isAttached = false,
  ) {
    this.#isAttached = isAttached;
    this.#parsed = parsed;
    this.#verifyClient = verifyClient;
    this.#endpoint = parsed.url.href;
    this.#server = server;
    this.#resolved = resolved;
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: resolved.maxMessageBytes,
      perMessageDeflate: resolved.perMessageDeflate,
    });
    // An attached listener leaves the application's HTTP requests and sockets alone, and
    // takes upgrades only once it is ready (start()), so a failed start leaves no listener.
    if (!isAttached) {
      server.on('connection', this.#onSocket);
      server.on('upgrade', this.#onUpgrade);
      server.on('request', this.#onRequest);
    }
  }

  /** The URL served, with the real port (`ws://127.0.0.1:0/x` reports the port picked). */
  get endpoint(): string {
    return this.#endpoint;
  }

  /** Whether it still accepts connections. */
  get isListening(): boolean {
    return this.#isListening;
  }

  /** See `Listener.connectionHandler`. */
  connectionHandler(handler: (connection: Connection) => void): void {
    if (typeof handler !== 'function') throw invalidArgError('handler must be a function');
    this.#inbox.setHandler((result) => {
      if (result.ok) handler(result.value);
    });
  }

  /**
   * Iterates accepted connections; ends when the listener closes.
   *
   * @returns an async iterator of the connections.
   */
  [Symbol.asyncIterator](): AsyncIterator<Connection> {
    return this.#inbox[Symbol.asyncIterator]();
  }

  /** See `Listener.close`. */
  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  /** Delegates to {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async start(beforeBind: WsListenOptions['beforeBind']): Promise<void> {
    const { signal } = this.#resolved;
    await beforeBind?.(this.#endpoint);
    signal?.throwIfAborted();
    if (!this.#isAttached) this.#server.listen({ host: this.#parsed.hostname, port: this.#parsed.port });
    try {
      // An attached (application's) server may be listening already.
      if (!this.#server.listening) await once(this.#server, 'listening', signal ? { signal } : {});
    } catch (error) {
      if (!this.#isAttached) this.#server.close();
      if (signal?.aborted) throw signal.reason;
      const code = (error as { code?: unknown }).code;
      if (code === 'EADDRINUSE') throw new EndpointInUseError(this.#parsed.url.href, { cause: error });
      throw new IoError(`cannot listen on ${this.#parsed.url.href}: ${(error as Error).message}`, { cause: error });
    }
    const address = this.#server.address();
    const port = typeof address === 'object' && address !== null ? address.port : this.#parsed.port;
    this.#endpoint = formatEndpoint(this.#parsed, port);
    this.#isListening = true;
    if (this.#isAttached) this.#server.on('upgrade', this.#onUpgrade);
    else this.#server.on('error', this.#onServerError);
    if (signal) {
      this.#onAbort = () => void this.close();
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  readonly #onSocket = (socket: Socket): void => {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  };

  readonly #onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    const isOurPath = requestPath(request.url) === this.#parsed.path;
    response.writeHead(isOurPath ? 426 : 404, { 'content-type': 'text/plain', connection: 'close' });
    response.end(isOurPath ? 'this endpoint serves WebSocket connections only\n' : 'not found\n');
  };

  readonly #onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!this.#isListening) {
      refuseUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    if (requestPath(request.url) !== this.#parsed.path) {
      // On the application's server another upgrade handler may own that path.
      if (this.#isAttached && this.#server.listenerCount('upgrade') > 1) return;
      refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    const verifyClient = this.#verifyClient;
    if (verifyClient !== undefined) {
      let isAccepted: boolean;
      try {
        isAccepted = verifyClient({
          path: this.#parsed.path,
          origin: request.headers.origin,
          headers: request.headers,
          remoteAddress: request.socket.remoteAddress,
        });
      } catch (error) {
        refuseUpgrade(socket, 500, 'Internal Server Error');
        throw error;
      }
      if (!isAccepted) {
        refuseUpgrade(socket, 403, 'Forbidden');
        return;
      }
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      this.#accept(ws, socket);
    });
  };

  #accept(ws: WebSocket, socket: Duplex): void {
    if (!this.#isListening) {
      ws.terminate();
      return;
    }
    const resolved = this.#resolved;
    const connection = new WsConnection(
      {
        endpoint: this.#endpoint,
        remoteAddress: (socket as Partial<Socket>).remoteAddress,
        maxMessageBytes: resolved.maxMessageBytes,
        highWaterMark: resolved.highWaterMark,
        closeTimeoutMs: resolved.closeTimeoutMs,
        onClosed: (closed) => this.#connections.delete(closed),
      },
      (sink) =>
        new NodeSocketAdapter(ws, socket, sink, {
          endpoint: this.#endpoint,
          maxMessageBytes: resolved.maxMessageBytes,
          keepaliveIntervalMs: resolved.keepaliveIntervalMs,
          keepaliveTimeoutMs: resolved.keepaliveTimeoutMs,
        }),
    );
    this.#connections.add(connection);
    this.#inbox.push(connection);
  }

  readonly #onServerError = (error: Error): void => {
    // A listening server reports errors only for catastrophic failures; end the listener with it.
    this.#inbox.end(new IoError(`listener at ${this.#endpoint} failed: ${error.message}`, { cause: error }));
    void this.close();
  };

  async #close(): Promise<void> {
    this.#isListening = false;
    if (this.#onAbort) this.#resolved.signal?.removeEventListener('abort', this.#onAbort);
    if (this.#isAttached) {
      // The server is borrowed: close only what this listener accepted.
      this.#server.off('upgrade', this.#onUpgrade);
      await Promise.all([...this.#connections].map((connection) => connection.close()));
      this.#wss.close();
      this.#inbox.end(new ConnectionLostError('local-close', `listener at ${this.#endpoint} closed`));
      return;
    }
    const serverClosed = new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
    await Promise.all([...this.#connections].map((connection) => connection.close()));
    // Anything left (a socket mid TLS handshake, an idle HTTP keep-alive, a refused upgrade
    // still flushing) is dropped, so close() never waits on a client.
    for (const socket of this.#sockets) socket.destroy();
    await serverClosed;
    this.#wss.close();
    this.#server.off('connection', this.#onSocket);
    this.#server.off('upgrade', this.#onUpgrade);
    this.#server.off('request', this.#onRequest);
    this.#server.off('error', this.#onServerError);
    this.#inbox.end(new ConnectionLostError('local-close', `listener at ${this.#endpoint} closed`));
  }
}

/**
 * Listens for WebSocket connections on `ws://host:port/path` (or `wss://` with `cert` and
 * `key`). Port `0` picks a free port; `listener.endpoint` reports the real one. Upgrade
 * requests for another path are answered with HTTP 404, plain HTTP requests with 426 (the
 * path) or 404. `close()` stops accepting and closes every accepted connection.
 *
 * **Platform behaviour.** Node only. In a browser (the `browser` export condition) it rejects
 * with `UnsupportedPlatformError`.
 *
 * @param endpoint - `ws://host:port/path` or `wss://host:port/path`.
 * @param options - {@link WsListenOptions}.
 * @returns the listener, bound and accepting. It **owns** its server and the connections.
 * @throws TypeError/RangeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, for a non-string
 *   endpoint, a bad option, or `wss://` without `cert` and `key`.
 * @throws (rejects) InvalidEndpointError (`IPCEZ_ERR_INVALID_ENDPOINT`) for a malformed URL;
 *   EndpointInUseError (`IPCEZ_ERR_ENDPOINT_IN_USE`) when the port is taken; IoError
 *   (`IPCEZ_ERR_IO`) for another OS failure (e.g. `EACCES` on a low port); whatever
 *   `beforeBind` throws; `signal.reason` when aborted before it is ready.
 * @example
 * ```ts
 * const listener = await listenWs('ws://127.0.0.1:0/echo');
 * listener.connectionHandler((connection) => {
 *   connection.messageHandler((r) => { if (r.ok) void connection.send(r.message).catch(() => {}); });
 * });
 * console.log(listener.endpoint); // ws://127.0.0.1:40123/echo
 * ```
 */
export function listenWs(endpoint: string, options: WsListenOptions = {}): Promise<Listener> {
  const resolved = resolveConnectionOptions(options);
  checkListenerOptions(options);
  let parsed: WsEndpoint;
  try {
    parsed = parseWsEndpoint(endpoint);
  } catch (error) {
    // A malformed endpoint is operational (rejects); a non-string one is a programmer error.
    if (error instanceof InvalidEndpointError) return Promise.reject(error);
    throw error;
  }
  if (options.server !== undefined) {
    if (parsed.isSecure !== options.server instanceof TlsServer) {
      throw invalidArgError(
        `${parsed.url.href} needs ${parsed.isSecure ? 'an https.Server' : 'an http.Server (not https)'} as options.server`,
      );
    }
  } else if (parsed.isSecure && (options.cert === undefined || options.key === undefined)) {
    throw invalidArgError(`listening on ${parsed.url.href} (wss://) needs options.cert and options.key`);
  }
  if (!parsed.isSecure && (options.cert !== undefined || options.key !== undefined)) {
    throw invalidArgError(`options.cert and options.key apply to wss:// endpoints; ${parsed.url.href} is ws://`);
  }
  return start(parsed, options, resolved);
}

async function start(
  parsed: WsEndpoint,
  options: WsListenOptions,
  resolved: ResolvedConnectionOptions,
): Promise<Listener> {
  resolved.signal?.throwIfAborted();
  if (options.server !== undefined) {
    const listener = new WsListener(parsed, options.server, resolved, options.verifyClient, true);
    await listener.start(options.beforeBind);
    return listener;
  }
  const server: Server = parsed.isSecure
    ? createHttpsServer({
        cert: toNodeTls(options.cert),
        key: toNodeTls(options.key),
        ca: toNodeTls(options.ca),
        passphrase: options.passphrase,
        requestCert: options.requestClientCert ?? false,
        rejectUnauthorized: options.requestClientCert ?? false,
      })
    : createHttpServer();
  const listener = new WsListener(parsed, server, resolved, options.verifyClient);
  await listener.start(options.beforeBind);
  return listener;
}
