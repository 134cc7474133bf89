import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { Duplex } from 'node:stream';
import {
  EndpointInUseError,
  InvalidEndpointError,
  IoError,
  ListenerCore,
  invalidArgError,
  resolveListenerLimits,
} from '@ipcez/core';
import type { Listener, ResolvedListenerLimits } from '@ipcez/core';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { parseWsEndpoint } from './endpoint.js';
import type { WsEndpoint } from './endpoint.js';
import { NodeSocketAdapter } from './node-socket-adapter.js';
import { toNodeTls } from './node-tls.js';
import { checkListenerOptions, resolveConnectionOptions } from './options.js';
import type { ResolvedConnectionOptions, WsListenOptions } from './options.js';
import { createWsConnection } from './create-ws-connection.js';

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

// Lifecycle: listenWs binds the HTTP(S) server, then hands it to the core's listener shell.
// close() (or the signal, or a server failure): stop accepting (server.close), close every
// connection gracefully, destroy leftover sockets (TLS handshakes, idle keep-alives), wait
// for the server to close, release the WebSocketServer and the listeners --> closed.

/**
 * The HTTP(S) side of a WebSocket listener: answers plain requests, refuses upgrades for
 * other paths or refused clients, and turns accepted upgrades into connections for the
 * core's listener shell. It **owns** its server and every socket the server accepts.
 * Module-private.
 */
class WsAcceptor {
  #endpoint: string;
  readonly #parsed: WsEndpoint;
  readonly #server: Server | HttpsServer;
  readonly #wss: WebSocketServer;
  readonly #resolved: ResolvedConnectionOptions;
  readonly #sockets = new Set<Socket>();
  readonly #verifyClient: WsListenOptions['verifyClient'];
  readonly #allowedOrigins: WsListenOptions['allowedOrigins'];
  #core: ListenerCore | undefined;
  /** Serving on the application's server (`options.server`): borrowed, never closed here. */
  readonly #isAttached: boolean;

  constructor(
    parsed: WsEndpoint,
    server: Server | HttpsServer,
    resolved: ResolvedConnectionOptions,
    verifyClient: WsListenOptions['verifyClient'],
    allowedOrigins: WsListenOptions['allowedOrigins'],
    isAttached = false,
  ) {
    this.#isAttached = isAttached;
    this.#parsed = parsed;
    this.#verifyClient = verifyClient;
    this.#allowedOrigins = allowedOrigins;
    this.#endpoint = parsed.url.href;
    this.#server = server;
    this.#resolved = resolved;
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: resolved.maxMessageBytes,
      perMessageDeflate: resolved.perMessageDeflate,
      // The first of the listener's subprotocols the client offered, or none.
      handleProtocols: (offered: Set<string>) => resolved.subprotocols.find((p) => offered.has(p)) ?? false,
    });
    // An attached listener leaves the application's HTTP requests and sockets alone, and
    // takes upgrades only once it is ready (start()), so a failed start leaves no listener.
    if (!isAttached) {
      server.on('connection', this.#onSocket);
      server.on('upgrade', this.#onUpgrade);
      server.on('request', this.#onRequest);
    }
  }

  /** Binds, then returns the listener (the core's shell over this server). */
  async start(beforeBind: WsListenOptions['beforeBind'], limits: ResolvedListenerLimits): Promise<Listener> {
    const { signal } = this.#resolved;
    await beforeBind?.(this.#endpoint);
    signal?.throwIfAborted();
    if (!this.#isAttached) this.#server.listen({ host: this.#parsed.hostname, port: this.#parsed.port });
    try {
      // An attached (application's) server may be listening already.
      if (!this.#server.listening) await once(this.#server, 'listening', signal ? { signal } : {});
    } catch (error) {
      this.#release();
      if (!this.#isAttached) await closeHttpServer(this.#server);
      if (signal?.aborted) throw signal.reason;
      const code = (error as { code?: unknown }).code;
      if (code === 'EADDRINUSE') throw new EndpointInUseError(this.#parsed.url.href, { cause: error });
      throw new IoError(`cannot listen on ${this.#parsed.url.href}: ${(error as Error).message}`, { cause: error });
    }
    const address = this.#server.address();
    const port = typeof address === 'object' && address !== null ? address.port : this.#parsed.port;
    this.#endpoint = formatEndpoint(this.#parsed, port);
    const core = new ListenerCore({
      transport: 'ws',
      endpoint: this.#endpoint,
      signal,
      beforeClose: this.#resolved.beforeClose,
      maxConnections: limits.maxConnections,
      onRefused: limits.onRefused,
      // A borrowed server stays up: only this listener's upgrades stop.
      stop: () => {
        if (!this.#isAttached) return closeHttpServer(this.#server);
        this.#server.off('upgrade', this.#onUpgrade);
        return Promise.resolve();
      },
      // Anything left (a socket mid TLS handshake, an idle HTTP keep-alive, a refused upgrade
      // still flushing) is dropped, so close() never waits on a client.
      afterConnectionsClosed: () => {
        for (const socket of this.#sockets) socket.destroy();
      },
      release: () => {
        this.#release();
      },
    });
    this.#core = core;
    if (this.#isAttached) this.#server.on('upgrade', this.#onUpgrade);
    else this.#server.on('error', this.#onServerError);
    return core;
  }

  #release(): void {
    this.#wss.close();
    this.#server.off('connection', this.#onSocket);
    this.#server.off('upgrade', this.#onUpgrade);
    this.#server.off('request', this.#onRequest);
    this.#server.off('error', this.#onServerError);
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
    if (this.#core?.isListening !== true) {
      refuseUpgrade(socket, 503, 'Service Unavailable');
      return;
    }
    if (requestPath(request.url) !== this.#parsed.path) {
      // On the application's server another upgrade handler may own that path.
      if (this.#isAttached && this.#server.listenerCount('upgrade') > 1) return;
      refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    if (!this.#isOriginAllowed(request)) {
      refuseUpgrade(socket, 403, 'Forbidden');
      return;
    }
    if (!this.#core.admit()) {
      // Past maxConnections (admit reported why): refused before the upgrade.
      refuseUpgrade(socket, 503, 'Service Unavailable');
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

  /**
   * Cross-site WebSocket hijacking: a browser page of another site must not reach this
   * listener. Only browsers send `Origin`; a handshake without one is not a page's.
   */
  #isOriginAllowed(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) return true;
    const allowed = this.#allowedOrigins;
    if (allowed === '*') return true;
    if (allowed?.includes(origin) === true) return true;
    try {
      return new URL(origin).host.toLowerCase() === (request.headers.host ?? '').toLowerCase();
    } catch {
      return false;
    }
  }

  #accept(ws: WebSocket, socket: Duplex): void {
    const core = this.#core;
    // admit() again: other upgrades may have completed since this one was let through.
    if (core?.isListening !== true || !core.admit()) {
      ws.terminate();
      return;
    }
    const resolved = this.#resolved;
    const endpoint = this.#endpoint;
    core.accept(
      createWsConnection(
        {
          endpoint,
          remoteAddress: (socket as Partial<Socket>).remoteAddress,
          maxMessageBytes: resolved.maxMessageBytes,
          highWaterMark: resolved.highWaterMark,
          closeTimeoutMs: resolved.closeTimeoutMs,
          subprotocol: ws.protocol,
        },
        (sink) =>
          new NodeSocketAdapter(ws, socket, sink, {
            endpoint,
            maxMessageBytes: resolved.maxMessageBytes,
            keepaliveIntervalMs: resolved.keepaliveIntervalMs,
            keepaliveTimeoutMs: resolved.keepaliveTimeoutMs,
          }),
      ),
    );
  }

  readonly #onServerError = (error: Error): void => {
    // A listening server reports errors only for catastrophic failures: the owner hears of it.
    this.#core?.fail(new IoError(`listener at ${this.#endpoint} failed: ${error.message}`, { cause: error }));
  };
}

function closeHttpServer(server: Server | HttpsServer): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
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
  const limits = resolveListenerLimits(options);
  if (limits.streamOnly.length > 0) {
    throw invalidArgError(
      `options.${limits.streamOnly.join(', options.')}: not an option of WebSocket listeners (byte-stream listeners only)`,
    );
  }
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
  return start(parsed, options, resolved, limits);
}

async function start(
  parsed: WsEndpoint,
  options: WsListenOptions,
  resolved: ResolvedConnectionOptions,
  limits: ResolvedListenerLimits,
): Promise<Listener> {
  resolved.signal?.throwIfAborted();
  if (options.server !== undefined) {
    return new WsAcceptor(parsed, options.server, resolved, options.verifyClient, options.allowedOrigins, true).start(
      options.beforeBind,
      limits,
    );
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
  return new WsAcceptor(parsed, server, resolved, options.verifyClient, options.allowedOrigins).start(
    options.beforeBind,
    limits,
  );
}
