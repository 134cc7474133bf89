import { invalidArgError } from '@ipcez/core';
import type { IpcezError } from '@ipcez/core';
import {
  InvalidResponseError,
  JSONRPC_ERROR_CODES,
  RequestTimeoutError,
  ResponseError,
  TooManyPendingRequestsError,
} from './errors.js';
import { methodName } from './method-types.js';
import type { NotificationType, RequestType } from './method-types.js';

/**
 * What `@ipcez/rpc` needs of a socket, structurally: an ipcez `Socket` (from `connect`, or a
 * server's connection handler, on any transport) fits, and so does anything else with these
 * three methods and the same contract (whole messages in order, then exactly one error).
 */
export interface RpcSocket {
  /** Sends one whole message. */
  sendMessage(message: Uint8Array): Promise<void>;
  /** Sets the one message handler: each message, then exactly one error result. */
  messageHandler(handler: (result: RpcSocketResult) => void): void;
  /** Closes the socket; idempotent. */
  disconnect(): Promise<void>;
}

/** What an {@link RpcSocket} hands its message handler. */
export type RpcSocketResult =
  | {
      /** A message arrived. */
      readonly ok: true;
      /** Its bytes. */
      readonly message: Uint8Array;
    }
  | {
      /** The connection ended. */
      readonly ok: false;
      /** Why. */
      readonly error: Error;
    };

/** A JSON-RPC request or response id. */
export type RpcId = number | string | null;

/** Options of {@link createRpcConnection}. Everything is optional. */
export interface RpcConnectionOptions {
  /**
   * How many of this side's requests may wait for replies at once (default 1024); past it
   * `request` rejects with `TooManyPendingRequestsError` and sends nothing.
   */
  readonly maxPendingRequests?: number;
  /**
   * How many of the peer's requests may run their handlers at once (default 256); past it a
   * request is answered at once with the JSON-RPC error `-32000` (ServerBusy) and its handler
   * is not run.
   */
  readonly maxConcurrentHandlers?: number;
  /** The `timeoutMs` of every request that does not give its own (default: none). */
  readonly defaultTimeoutMs?: number;
}

/** Options of {@link RpcConnection.request}. */
export interface RequestOptions {
  /**
   * Reject with `RequestTimeoutError` when no reply came within this many milliseconds; the
   * peer is sent `$/cancelRequest`.
   */
  readonly timeoutMs?: number;
  /** Abort the request: it rejects with `signal.reason` and the peer is sent `$/cancelRequest`. */
  readonly signal?: AbortSignal;
}

/** What a request handler gets besides the params. */
export interface RequestContext {
  /** Aborted when the peer cancels the request (`$/cancelRequest`) or the connection ends. */
  readonly signal: AbortSignal;
  /** The request's id, as the peer sent it. */
  readonly id: RpcId;
  /** The method. */
  readonly method: string;
}

/**
 * Answers one request. Return the result (or a promise of it; `undefined` replies `null`), or
 * throw: a {@link ResponseError} becomes that error reply, anything else `-32603` with its
 * message; once the signal is aborted, any throw replies `-32800` (RequestCancelled).
 */
export type RequestHandler<P, R> = (params: P, context: RequestContext) => R | Promise<R>;

/**
 * Gets one notification. Called synchronously, in arrival order; its throws propagate (they
 * are not caught), so an async handler must handle its own rejections.
 */
export type NotificationHandler<P> = (params: P) => void;

/**
 * One side of a JSON-RPC 2.0 conversation over an ipcez socket: both sides can request,
 * notify and answer. One JSON-RPC message (or batch) per socket message.
 *
 * It **owns** the socket from creation on: it sets the socket's one message handler, and
 * `close()` disconnects the socket.
 */
export interface RpcConnection extends AsyncDisposable {
  /** `'open'` until the socket ended, then `'closed'`. */
  readonly state: 'open' | 'closed';
  /** How many of this side's requests wait for replies. */
  readonly pendingRequests: number;
  /** How many of the peer's requests are being handled. */
  readonly runningHandlers: number;
  /**
   * Sends a request and resolves with the peer's result.
   *
   * @param type - a {@link RequestType} or a method name.
   * @param params - an object or an array, or `undefined` for none.
   * @param options - {@link RequestOptions}.
   * @returns the result.
   * @throws TypeError/RangeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, for a bad method,
   *   params that are not an object/array or not JSON-serializable, or bad options. The
   *   promise rejects with `ResponseError` (`IPCEZ_ERR_RPC_RESPONSE`) for an error reply,
   *   `RequestTimeoutError` (`IPCEZ_ERR_RPC_TIMEOUT`), `TooManyPendingRequestsError`
   *   (`IPCEZ_ERR_RPC_TOO_MANY_PENDING`), `InvalidResponseError`
   *   (`IPCEZ_ERR_RPC_INVALID_RESPONSE`), `signal.reason`, or the socket's terminal error
   *   (`ConnectionLostError`) when the connection ends first.
   */
  request<R>(
    type: RequestType<void, R> | RequestType<undefined, R>,
    params?: undefined,
    options?: RequestOptions,
  ): Promise<R>;
  /**
   * Sends a request of a typed method with its params (see the first overload).
   *
   * @param type - the {@link RequestType}.
   * @param params - the params, of the method's type.
   * @param options - {@link RequestOptions}.
   * @returns the result, of the method's type.
   */
  request<P, R>(type: RequestType<P, R>, params: P, options?: RequestOptions): Promise<R>;
  /**
   * Sends a request by method name, untyped (see the first overload).
   *
   * @param method - the method name.
   * @param params - an object or an array, or `undefined` for none.
   * @param options - {@link RequestOptions}.
   * @returns the result.
   */
  request(method: string, params?: unknown, options?: RequestOptions): Promise<unknown>;
  /**
   * Sends a notification (no reply).
   *
   * @returns resolves when the socket sent it.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, as for `request`; the promise
   *   rejects with the socket's send error.
   */
  notify(type: NotificationType<void> | NotificationType<undefined>, params?: undefined): Promise<void>;
  /**
   * Sends a notification of a typed method with its params (see the first overload).
   *
   * @param type - the {@link NotificationType}.
   * @param params - the params, of the method's type.
   * @returns resolves when the socket sent it.
   */
  notify<P>(type: NotificationType<P>, params: P): Promise<void>;
  /**
   * Sends a notification by method name, untyped (see the first overload).
   *
   * @param method - the method name.
   * @param params - an object or an array, or `undefined` for none.
   * @returns resolves when the socket sent it.
   */
  notify(method: string, params?: unknown): Promise<void>;
  /**
   * Sets the handler of one request method.
   *
   * @returns a disposable that removes it (idempotent).
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when the method already has a handler.
   */
  onRequest<P, R>(type: RequestType<P, R>, handler: RequestHandler<P, R>): Disposable;
  /**
   * Sets the handler of one request method by name, untyped (see the first overload).
   *
   * @param method - the method name.
   * @param handler - answers each request of it.
   * @returns a disposable that removes it (idempotent).
   */
  onRequest(method: string, handler: RequestHandler<unknown, unknown>): Disposable;
  /**
   * Sets the handler of one notification method. Notifications nobody handles are dropped.
   *
   * @returns a disposable that removes it (idempotent).
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when the method already has a handler, or is `$/cancelRequest`.
   */
  onNotification<P>(type: NotificationType<P>, handler: NotificationHandler<P>): Disposable;
  /**
   * Sets the handler of one notification method by name, untyped (see the first overload).
   *
   * @param method - the method name.
   * @param handler - gets each notification of it.
   * @returns a disposable that removes it (idempotent).
   */
  onNotification(method: string, handler: NotificationHandler<unknown>): Disposable;
  /**
   * Calls `handler` once with the socket's terminal error when the connection ends (at once,
   * on the next tick, if it already has).
   *
   * @returns a disposable that removes it.
   */
  onClose(handler: (error: Error) => void): Disposable;
  /** Disconnects the socket: pending requests reject with its terminal error. Idempotent. */
  close(): Promise<void>;
}

/** The notification vscode-jsonrpc and LSP use to cancel a request: `{ id }`. */
export const CANCEL_REQUEST_METHOD = '$/cancelRequest';

const DEFAULT_MAX_PENDING = 1024;
const DEFAULT_MAX_HANDLERS = 256;

interface Pending {
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  unlisten: (() => void) | undefined;
}

type JsonObject = Record<string, unknown>;
type Reply = JsonObject | undefined;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is RpcId {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

function errorReply(id: RpcId, code: number, message: string, data?: unknown): JsonObject {
  const error: JsonObject = { code, message };
  if (data !== undefined) error['data'] = data;
  return { jsonrpc: '2.0', id, error };
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalidArgError(`${name} must be a positive integer, got ${String(value)}`, 'range');
  }
  return value;
}

function checkTimeout(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgError(`${name} must be a positive number of milliseconds, got ${String(value)}`, 'range');
  }
  return value;
}

function checkParams(params: unknown): void {
  if (params !== undefined && (typeof params !== 'object' || params === null)) {
    throw invalidArgError(
      `params must be an object, an array or undefined (JSON-RPC 2.0 "structured" params), got ${params === null ? 'null' : typeof params}`,
    );
  }
}

function encode(message: JsonObject): Uint8Array {
  let text: string;
  try {
    text = JSON.stringify(message);
  } catch (error) {
    throw Object.assign(invalidArgError(`params are not JSON-serializable: ${(error as Error).message}`), {
      cause: error,
    });
  }
  return encoder.encode(text);
}

/**
 * Starts JSON-RPC 2.0 over an ipcez socket (any transport): one JSON-RPC message per socket
 * message, requests matched by id (many in flight, replies in any order), cancellation with
 * vscode-jsonrpc's `$/cancelRequest` both ways, and bounded memory (`maxPendingRequests`,
 * `maxConcurrentHandlers`).
 *
 * **Batches.** An incoming batch (a JSON array) is answered as JSON-RPC 2.0 says: one array
 * of the replies to its requests, sent once every handler finished (none when it held only
 * notifications; an empty batch gets one `-32600`). This side never sends batches.
 *
 * **Edges.** Invalid JSON (or invalid UTF-8) is answered `-32700`; a message that is not a
 * request, notification or response `-32600` (id `null` when no valid id could be read); an
 * unknown method `-32601`. A reply whose id matches no pending request (it timed out or was
 * cancelled, or never existed) is dropped. Replies this side cannot send because the
 * connection ended are dropped; a result that does not fit in one message (or is not
 * JSON-serializable) is replaced by a `-32603` reply.
 *
 * @param socket - a connected ipcez `Socket` (or any {@link RpcSocket}); it becomes owned by the returned connection.
 * @param options - {@link RpcConnectionOptions}.
 * @returns the {@link RpcConnection}.
 * @throws TypeError/RangeError (`IPCEZ_ERR_INVALID_ARG`) for bad options or a socket that
 *   already has a message handler.
 * @example
 * ```ts
 * const rpc = createRpcConnection(await connect('/tmp/app.sock'));
 * const sum = await rpc.request('add', [1, 2], { timeoutMs: 1000 });
 * ```
 */
export function createRpcConnection(socket: RpcSocket, options: RpcConnectionOptions = {}): RpcConnection {
  return new JsonRpcConnection(socket, options);
}

class JsonRpcConnection implements RpcConnection {
  readonly #socket: RpcSocket;
  readonly #maxPending: number;
  readonly #maxHandlers: number;
  readonly #defaultTimeoutMs: number | undefined;
  readonly #pending = new Map<number, Pending>();
  /** Running request handlers by id (a Map tells `1` from `'1'`); a null id gets a symbol. */
  readonly #running = new Map<number | string | symbol, Running>();
  readonly #requestHandlers = new Map<string, RequestHandler<unknown, unknown>>();
  readonly #notificationHandlers = new Map<string, NotificationHandler<unknown>>();
  readonly #closeHandlers = new Set<(error: Error) => void>();
  #nextId = 1;
  #terminal: Error | undefined;
  #closing: Promise<void> | undefined;

  constructor(socket: RpcSocket, options: RpcConnectionOptions) {
    this.#maxPending = positiveInteger('maxPendingRequests', options.maxPendingRequests, DEFAULT_MAX_PENDING);
    this.#maxHandlers = positiveInteger('maxConcurrentHandlers', options.maxConcurrentHandlers, DEFAULT_MAX_HANDLERS);
    this.#defaultTimeoutMs = checkTimeout('defaultTimeoutMs', options.defaultTimeoutMs);
    this.#socket = socket;
    // Messages that arrived before this connection existed (a socket's first message may be
    // read before it is handed over) are dispatched on the next microtask, not inside this
    // constructor: the handlers a caller registers right after creating it are in place by then.
    let early: RpcSocketResult[] | undefined = [];
    socket.messageHandler((result) => {
      if (early !== undefined) {
        early.push(result);
        return;
      }
      this.#onResult(result);
    });
    queueMicrotask(() => {
      const queued = early ?? [];
      early = undefined;
      for (const result of queued) this.#onResult(result);
    });
  }

  #onResult(result: RpcSocketResult): void {
    if (result.ok) this.#onMessage(result.message);
    else this.#end(result.error);
  }

  get state(): 'open' | 'closed' {
    return this.#terminal === undefined ? 'open' : 'closed';
  }

  get pendingRequests(): number {
    return this.#pending.size;
  }

  get runningHandlers(): number {
    return this.#running.size;
  }

  request(
    type: string | RequestType<unknown, unknown>,
    params?: unknown,
    options: RequestOptions = {},
  ): Promise<never> {
    const method = methodName(type);
    checkParams(params);
    const timeoutMs = checkTimeout('timeoutMs', options.timeoutMs) ?? this.#defaultTimeoutMs;
    const { signal } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal))
      throw invalidArgError('signal must be an AbortSignal');
    if (this.#terminal !== undefined) return Promise.reject(this.#terminal);
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    if (this.#pending.size >= this.#maxPending)
      return Promise.reject(new TooManyPendingRequestsError(this.#maxPending));
    const id = this.#nextId++;
    const message: JsonObject = { jsonrpc: '2.0', id, method };
    if (params !== undefined) message['params'] = params;
    const bytes = encode(message);
    return new Promise<never>((resolve, reject) => {
      const entry: Pending = {
        method,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: undefined,
        unlisten: undefined,
      };
      this.#pending.set(id, entry);
      if (timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          this.#cancel(id, new RequestTimeoutError(method, timeoutMs));
        }, timeoutMs);
      }
      if (signal !== undefined) {
        const onAbort = (): void => {
          this.#cancel(id, signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        entry.unlisten = () => {
          signal.removeEventListener('abort', onAbort);
        };
      }
      this.#socket.sendMessage(bytes).catch((error: unknown) => {
        // An ack timeout means the request was written but its delivery is unconfirmed: the
        // reply (or the request's own timeout) decides. Any other send failure ends it here.
        if ((error as { code?: unknown }).code !== 'IPCEZ_ERR_ACK_TIMEOUT') this.#settle(id)?.reject(error);
      });
    });
  }

  notify(type: string | NotificationType<unknown>, params?: unknown): Promise<void> {
    const method = methodName(type);
    checkParams(params);
    if (this.#terminal !== undefined) return Promise.reject(this.#terminal);
    const message: JsonObject = { jsonrpc: '2.0', method };
    if (params !== undefined) message['params'] = params;
    return this.#socket.sendMessage(encode(message));
  }

  onRequest(type: string | RequestType<unknown, unknown>, handler: RequestHandler<unknown, unknown>): Disposable {
    return this.#register(this.#requestHandlers, methodName(type), handler);
  }

  onNotification(type: string | NotificationType<unknown>, handler: NotificationHandler<unknown>): Disposable {
    const method = methodName(type);
    if (method === CANCEL_REQUEST_METHOD) {
      throw invalidArgError(
        `${CANCEL_REQUEST_METHOD} is handled by the connection itself (request handlers get a signal)`,
      );
    }
    return this.#register(this.#notificationHandlers, method, handler);
  }

  onClose(handler: (error: Error) => void): Disposable {
    if (typeof handler !== 'function') throw invalidArgError('handler must be a function');
    const terminal = this.#terminal;
    if (terminal !== undefined) {
      let cancelled = false;
      queueMicrotask(() => {
        if (!cancelled) handler(terminal);
      });
      return {
        [Symbol.dispose]: () => {
          cancelled = true;
        },
      };
    }
    const once = (error: Error): void => {
      handler(error);
    };
    this.#closeHandlers.add(once);
    return {
      [Symbol.dispose]: () => {
        this.#closeHandlers.delete(once);
      },
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#socket.disconnect();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #register<H>(map: Map<string, H>, method: string, handler: H): Disposable {
    if (typeof handler !== 'function') throw invalidArgError('handler must be a function');
    if (map.has(method)) throw invalidArgError(`${JSON.stringify(method)} already has a handler`);
    map.set(method, handler);
    return {
      [Symbol.dispose]: () => {
        if (map.get(method) === handler) map.delete(method);
      },
    };
  }

  /** Removes a pending request and releases its timer and abort listener. */
  #settle(id: number): Pending | undefined {
    const entry = this.#pending.get(id);
    if (entry === undefined) return undefined;
    this.#pending.delete(id);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.unlisten?.();
    return entry;
  }

  /** Gives up on a pending request (timeout or abort) and tells the peer. */
  #cancel(id: number, reason: unknown): void {
    const entry = this.#settle(id);
    if (entry === undefined) return;
    entry.reject(reason);
    if (this.#terminal === undefined) {
      const bytes = encoder.encode(JSON.stringify({ jsonrpc: '2.0', method: CANCEL_REQUEST_METHOD, params: { id } }));
      // Best effort: a cancel that cannot be sent means the connection is ending anyway.
      this.#socket.sendMessage(bytes).catch(() => undefined);
    }
  }

  #end(error: Error): void {
    if (this.#terminal !== undefined) return;
    this.#terminal = error;
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(error);
    for (const running of this.#running.values()) running.abort(error);
    this.#running.clear();
    const handlers = [...this.#closeHandlers];
    this.#closeHandlers.clear();
    for (const handler of handlers) handler(error);
  }

  #onMessage(bytes: Uint8Array): void {
    if (this.#terminal !== undefined) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(decoder.decode(bytes));
    } catch {
      this.#reply(errorReply(null, JSONRPC_ERROR_CODES.ParseError, 'Parse error: the message is not valid UTF-8 JSON'));
      return;
    }
    if (!Array.isArray(parsed)) {
      const reply = this.#dispatch(parsed);
      if (reply instanceof Promise) {
        void reply.then((r) => {
          this.#reply(r);
        });
      } else this.#reply(reply);
      return;
    }
    if (parsed.length === 0) {
      this.#reply(errorReply(null, JSONRPC_ERROR_CODES.InvalidRequest, 'Invalid Request: empty batch'));
      return;
    }
    const replies = parsed.map((item) => Promise.resolve(this.#dispatch(item)));
    void Promise.all(replies).then((settled) => {
      const batch = settled.filter((r): r is JsonObject => r !== undefined);
      if (batch.length > 0) this.#send(batch, true);
    });
  }

  /** Routes one message; returns the reply to send, if any (a promise of it for async handlers). */
  #dispatch(message: unknown): Reply | Promise<Reply> {
    if (!isObject(message)) {
      return errorReply(null, JSONRPC_ERROR_CODES.InvalidRequest, 'Invalid Request: not an object');
    }
    const hasId = 'id' in message;
    const id = hasId && isId(message['id']) ? message['id'] : null;
    if ('method' in message) {
      const invalid = (why: string): Reply =>
        hasId || message['jsonrpc'] !== '2.0' || typeof message['method'] !== 'string'
          ? errorReply(id, JSONRPC_ERROR_CODES.InvalidRequest, `Invalid Request: ${why}`)
          : undefined;
      if (message['jsonrpc'] !== '2.0') return invalid('jsonrpc must be "2.0"');
      const method = message['method'];
      if (typeof method !== 'string') return invalid('method must be a string');
      const params = message['params'];
      if ('params' in message && (typeof params !== 'object' || params === null)) {
        return invalid('params must be an object or an array');
      }
      if (hasId && !isId(message['id'])) return invalid('id must be a string, a number or null');
      if (!hasId) {
        this.#onNotification(method, params);
        return undefined;
      }
      return this.#onRequest(id, method, params);
    }
    if ('result' in message || 'error' in message) {
      this.#onResponse(message);
      return undefined;
    }
    return errorReply(id, JSONRPC_ERROR_CODES.InvalidRequest, 'Invalid Request: neither a request nor a response');
  }

  #onNotification(method: string, params: unknown): void {
    if (method === CANCEL_REQUEST_METHOD) {
      const id = isObject(params) ? params['id'] : undefined;
      if (typeof id === 'number' || typeof id === 'string') {
        this.#running
          .get(id)
          ?.abort(new ResponseError(JSONRPC_ERROR_CODES.RequestCancelled, 'request cancelled by the peer'));
      }
      return;
    }
    // Listener throws propagate (they are not caught here).
    this.#notificationHandlers.get(method)?.(params);
  }

  #onRequest(id: RpcId, method: string, params: unknown): Reply | Promise<Reply> {
    const handler = this.#requestHandlers.get(method);
    if (handler === undefined) {
      return errorReply(id, JSONRPC_ERROR_CODES.MethodNotFound, `Method not found: ${method}`);
    }
    if (this.#running.size >= this.#maxHandlers) {
      return errorReply(
        id,
        JSONRPC_ERROR_CODES.ServerBusy,
        `Server busy: ${this.#maxHandlers} requests are being handled (maxConcurrentHandlers)`,
      );
    }
    if (id !== null && this.#running.has(id)) {
      return errorReply(
        id,
        JSONRPC_ERROR_CODES.InvalidRequest,
        `Invalid Request: id ${JSON.stringify(id)} is already running`,
      );
    }
    const running = new Running(id, method);
    // A null id cannot be cancelled; it still counts against maxConcurrentHandlers.
    const slot = id ?? Symbol('null id');
    this.#running.set(slot, running);
    const done = (): void => {
      if (this.#running.get(slot) === running) this.#running.delete(slot);
    };
    let outcome: unknown;
    try {
      outcome = handler(params, running);
    } catch (error) {
      done();
      return failureReply(id, error, running.isAborted);
    }
    if (!isThenable(outcome)) {
      done();
      return { jsonrpc: '2.0', id, result: outcome ?? null };
    }
    return Promise.resolve(outcome).then(
      (result): Reply => {
        done();
        return { jsonrpc: '2.0', id, result: result ?? null };
      },
      (error: unknown): Reply => {
        done();
        return failureReply(id, error, running.isAborted);
      },
    );
  }

  #onResponse(message: JsonObject): void {
    const id = message['id'];
    if (typeof id !== 'number') return;
    const entry = this.#settle(id);
    if (entry === undefined) return;
    if (message['jsonrpc'] !== '2.0') {
      entry.reject(new InvalidResponseError(`reply to ${JSON.stringify(entry.method)} has no "jsonrpc": "2.0"`));
    } else if ('result' in message && 'error' in message) {
      entry.reject(new InvalidResponseError(`reply to ${JSON.stringify(entry.method)} has both result and error`));
    } else if ('result' in message) {
      entry.resolve(message['result']);
    } else {
      const error = message['error'];
      if (!isObject(error) || !Number.isInteger(error['code']) || typeof error['message'] !== 'string') {
        entry.reject(
          new InvalidResponseError(
            `error reply to ${JSON.stringify(entry.method)} lacks an integer code and a string message`,
          ),
        );
      } else {
        entry.reject(new ResponseError(error['code'] as number, error['message'], error['data']));
      }
    }
  }

  #reply(reply: Reply): void {
    if (reply !== undefined) this.#send(reply, true);
  }

  /** Sends a reply (or batch of replies); one that cannot be encoded or is too large becomes -32603. */
  #send(reply: JsonObject | JsonObject[], fallback: boolean): void {
    if (this.#terminal !== undefined) return;
    let text: string;
    try {
      text = JSON.stringify(reply);
    } catch (error) {
      if (fallback)
        this.#send(internalFallback(reply, `the result is not JSON-serializable: ${(error as Error).message}`), false);
      return;
    }
    this.#socket.sendMessage(encoder.encode(text)).catch((error: unknown) => {
      // Replies to a peer that is gone are dropped; a reply too large for one message is
      // replaced by an error the peer can match to its request.
      if (fallback && (error as { code?: unknown }).code === 'IPCEZ_ERR_FRAME_TOO_LARGE') {
        this.#send(internalFallback(reply, (error as IpcezError).message), false);
      }
    });
  }
}

/**
 * One running request handler's context. Its AbortController is made only when the handler
 * reads `signal` (most never do, and making one per request is a large share of a request's
 * cost); a cancel that comes first is remembered and applied then.
 */
class Running implements RequestContext {
  readonly id: RpcId;
  readonly method: string;
  #controller: AbortController | undefined;
  #aborted: { reason: unknown } | undefined;

  constructor(id: RpcId, method: string) {
    this.id = id;
    this.method = method;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted !== undefined) this.#controller.abort(this.#aborted.reason);
    }
    return this.#controller.signal;
  }

  get isAborted(): boolean {
    return this.#aborted !== undefined;
  }

  abort(reason: unknown): void {
    if (this.#aborted !== undefined) return;
    this.#aborted = { reason };
    this.#controller?.abort(reason);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function failureReply(id: RpcId, error: unknown, isAborted: boolean): JsonObject {
  // Matched on code, not instanceof: a second copy of this package may have made it.
  if (isResponseError(error)) return errorReply(id, error.rpcCode, error.message, error.data);
  if (isAborted) return errorReply(id, JSONRPC_ERROR_CODES.RequestCancelled, 'Request cancelled');
  const message = error instanceof Error ? error.message : 'the request handler failed';
  return errorReply(id, JSONRPC_ERROR_CODES.InternalError, message);
}

function isResponseError(error: unknown): error is ResponseError {
  return (
    error instanceof Error &&
    (error as { code?: unknown }).code === 'IPCEZ_ERR_RPC_RESPONSE' &&
    Number.isInteger((error as { rpcCode?: unknown }).rpcCode)
  );
}

function internalFallback(reply: JsonObject | JsonObject[], why: string): JsonObject | JsonObject[] {
  const one = (r: JsonObject): JsonObject =>
    'result' in r ? errorReply(r['id'] as RpcId, JSONRPC_ERROR_CODES.InternalError, `Internal error: ${why}`) : r;
  return Array.isArray(reply) ? reply.map(one) : one(reply);
}
