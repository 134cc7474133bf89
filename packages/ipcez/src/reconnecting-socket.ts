import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConnectionLostError,
  DEFAULT_HIGH_WATER_MARK,
  Inbox,
  invalidArgError,
  ReconnectFailedError,
  SendBufferFullError,
  SendTimeoutError,
} from '@ipcez/core';
import type { IpcezError, MessageHandler, TransportKind } from '@ipcez/core';
import { connect } from './api.js';
import { debug } from './debug.js';
import type { ConnectOptions } from './options.js';
import { backoffDelayMs, isServerMissing, resolveRetry } from './retry.js';
import type { RetryOptions } from './retry.js';
import type { Socket } from './socket.js';

/** How a {@link ReconnectingSocket} comes back after a loss. */
export interface ReconnectOptions extends RetryOptions {
  /**
   * How long a send made while disconnected waits for the connection to come back, in ms
   * (default 10000); then it rejects with `SendTimeoutError` and nothing is sent.
   */
  readonly sendTimeoutMs?: number;
}

/** Options of {@link connectReconnecting}: those of `connect`, plus the reconnect rules and callbacks. */
export interface ReconnectingConnectOptions extends ConnectOptions {
  /**
   * Reconnection attempts after each loss, their backoff (as `retry`: default 10 attempts,
   * 50 ms doubling up to 2 s, jittered), and `sendTimeoutMs`. A number is the attempt count.
   * The first attempt is made at once. `retry` still governs the very first connect.
   */
  readonly reconnect?: number | ReconnectOptions;
  /** Called once per loss, with the error that ended the connection, before reconnecting. */
  readonly onDisconnect?: (error: IpcezError) => void;
  /** Called once per successful reconnection, with the number of attempts it took. */
  readonly onReconnect?: (attempts: number) => void;
}

/**
 * A client socket that survives server restarts: returned by {@link connectReconnecting}.
 * Same message API as a `Socket`; the rules (all tested against a server killed with SIGKILL
 * and restarted on the same path):
 *
 * - **Sends while disconnected wait** and go out in order once reconnected, each for at most
 *   `sendTimeoutMs` (then `SendTimeoutError`, nothing sent) and together for at most
 *   `highWaterMark` bytes (past it: `SendBufferFullError` at once, nothing queued).
 * - **Sends in flight at the moment of loss reject** with `ConnectionLostError` and are never
 *   sent again (at-most-once: nothing is sent twice, so a message may be lost, never duplicated).
 * - **Loss and reconnection are reported**: `onDisconnect(error)` once per loss, then
 *   `onReconnect(attempts)` once per new connection. Messages keep flowing to the one message
 *   handler across connections, in order per connection.
 * - **Giving up is terminal**: when the attempts after one loss are spent (or an attempt fails
 *   with an error retrying cannot fix, e.g. permission denied), the handler gets its one
 *   error result, `ReconnectFailedError` (last failure as `cause`), and every waiting or
 *   later send rejects with it.
 *
 * It **owns** each connection it makes; `disconnect()` stops reconnecting and closes the current one.
 */
export interface ReconnectingSocket extends AsyncDisposable, AsyncIterable<Uint8Array> {
  /** The transport. */
  readonly transport: TransportKind;
  /** The resolved endpoint. */
  readonly endpoint: string;
  /** `'open'` (connected), `'reconnecting'` (lost, trying again) or `'closed'` (gave up, or `disconnect()`). */
  readonly state: 'open' | 'reconnecting' | 'closed';
  /** How many times it reconnected so far. */
  readonly reconnects: number;
  /** Bytes queued: by the current connection, or waiting for the next one. */
  readonly bufferedAmount: number;
  /**
   * Sends one message: on the current connection, or queued until the next (see the rules above).
   *
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, for a message that is neither bytes nor a string.
   */
  sendMessage(message: Uint8Array | string): Promise<void>;
  /** Sets the one message handler: messages from every connection in order, then exactly one error. */
  messageHandler(handler: MessageHandler): void;
  /** Stops reconnecting and closes the current connection. Idempotent; same promise each call. */
  disconnect(): Promise<void>;
}

interface Waiting {
  readonly message: Uint8Array | string;
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

const DEFAULT_SEND_TIMEOUT_MS = 10_000;

function resolveReconnect(value: number | ReconnectOptions | undefined): {
  retry: NonNullable<ReturnType<typeof resolveRetry>>;
  sendTimeoutMs: number;
} {
  const raw: unknown = value; // callers without types may pass anything
  if (raw !== undefined && typeof raw !== 'number' && (typeof raw !== 'object' || raw === null)) {
    throw invalidArgError(`reconnect must be a number of attempts or ReconnectOptions, got ${typeof value}`);
  }
  const { sendTimeoutMs = DEFAULT_SEND_TIMEOUT_MS, ...rest } = typeof value === 'object' ? value : {};
  if (typeof sendTimeoutMs !== 'number' || !Number.isFinite(sendTimeoutMs) || sendTimeoutMs <= 0) {
    throw invalidArgError(
      `reconnect.sendTimeoutMs must be a positive number of ms, got ${String(sendTimeoutMs)}`,
      'range',
    );
  }
  const retry = resolveRetry(typeof value === 'number' ? value : { ...rest, attempts: rest.attempts ?? 10 });
  if (retry === undefined) throw invalidArgError('reconnect.attempts must be at least 1', 'range');
  return { retry, sendTimeoutMs };
}

/**
 * Connects like `connect`, and reconnects to the same endpoint whenever the connection is
 * lost, under the rules of {@link ReconnectingSocket}. Opt-in: a plain `connect` never
 * reconnects.
 *
 * @param endpoint - as for `connect`.
 * @param options - {@link ReconnectingConnectOptions}.
 * @returns the connected {@link ReconnectingSocket}.
 * @throws what `connect` throws, for the first connection (use `retry` to wait for the
 *   server); TypeError/RangeError (`IPCEZ_ERR_INVALID_ARG`) for bad `reconnect` options.
 * @example
 * ```ts
 * const socket = await connectReconnecting('/tmp/app.sock', {
 *   reconnect: { attempts: 20, maxDelayMs: 1000 },
 *   onDisconnect: (e) => console.warn('lost:', e.message),
 *   onReconnect: (n) => console.warn(`back after ${n} attempt(s)`),
 * });
 * ```
 */
export async function connectReconnecting(
  endpoint: string,
  options: ReconnectingConnectOptions = {},
): Promise<ReconnectingSocket> {
  const { reconnect, onDisconnect, onReconnect, ...connectOptions } = options;
  const rules = resolveReconnect(reconnect);
  for (const [name, fn] of [
    ['onDisconnect', onDisconnect],
    ['onReconnect', onReconnect],
  ] as const) {
    if (fn !== undefined && typeof fn !== 'function') throw invalidArgError(`${name} must be a function`);
  }
  const first = await connect(endpoint, connectOptions);
  const { retry: _firstOnly, ...again } = connectOptions;
  return new Reconnecting(endpoint, first, again, rules, onDisconnect, onReconnect);
}

// States:
//
//   open --loss--> reconnecting --connected--> open
//     |                 |
//     |                 +--attempts spent / unfixable error--> closed (ReconnectFailedError)
//     +--disconnect()--> closed (the current connection's local-close error)
class Reconnecting implements ReconnectingSocket {
  readonly #endpoint: string;
  readonly #options: ConnectOptions;
  readonly #rules: ReturnType<typeof resolveReconnect>;
  readonly #onDisconnect: ((error: IpcezError) => void) | undefined;
  readonly #onReconnect: ((attempts: number) => void) | undefined;
  // Iteration ends normally on disconnect() (the only ConnectionLostError that ends it: a
  // loss from the peer means reconnecting) and throws ReconnectFailedError.
  readonly #inbox = new Inbox<Uint8Array, IpcezError>({
    isCleanEnd: (error) => error.code === 'IPCEZ_ERR_CONNECTION_LOST',
  });
  readonly #stop = new AbortController();
  readonly #waiting: Waiting[] = [];
  readonly #highWaterMark: number;
  #waitingBytes = 0;
  #current: Socket | undefined;
  #transport: TransportKind;
  #resolvedEndpoint: string;
  #state: 'open' | 'reconnecting' | 'closed' = 'open';
  #terminal: IpcezError | undefined;
  #reconnects = 0;
  #closing: Promise<void> | undefined;

  constructor(
    endpoint: string,
    first: Socket,
    options: ConnectOptions,
    rules: ReturnType<typeof resolveReconnect>,
    onDisconnect: ((error: IpcezError) => void) | undefined,
    onReconnect: ((attempts: number) => void) | undefined,
  ) {
    this.#endpoint = endpoint;
    this.#options = options;
    this.#rules = rules;
    this.#onDisconnect = onDisconnect;
    this.#onReconnect = onReconnect;
    this.#highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.#transport = first.transport;
    this.#resolvedEndpoint = first.endpoint;
    this.#attach(first);
  }

  get transport(): TransportKind {
    return this.#transport;
  }

  get endpoint(): string {
    return this.#resolvedEndpoint;
  }

  get state(): 'open' | 'reconnecting' | 'closed' {
    return this.#state;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  get bufferedAmount(): number {
    return this.#waitingBytes + (this.#current?.bufferedAmount ?? 0);
  }

  sendMessage(message: Uint8Array | string): Promise<void> {
    if (typeof message !== 'string' && !(message instanceof Uint8Array)) {
      throw invalidArgError('message must be a Uint8Array or a string');
    }
    if (this.#terminal !== undefined) return Promise.reject(this.#terminal);
    if (this.#state === 'open' && this.#current !== undefined) return this.#current.sendMessage(message);
    const bytes = typeof message === 'string' ? Buffer.byteLength(message) : message.byteLength;
    if (this.#waitingBytes + bytes > this.#highWaterMark && this.#waiting.length > 0) {
      return Promise.reject(new SendBufferFullError(this.#waitingBytes, this.#highWaterMark));
    }
    return new Promise<void>((resolve, reject) => {
      const timeoutMs = this.#rules.sendTimeoutMs;
      const timer = setTimeout(() => {
        const index = this.#waiting.indexOf(entry);
        if (index >= 0) this.#waiting.splice(index, 1);
        this.#waitingBytes -= bytes;
        reject(new SendTimeoutError(timeoutMs));
      }, timeoutMs);
      const entry: Waiting = { message, bytes, resolve, reject, timer };
      this.#waiting.push(entry);
      this.#waitingBytes += bytes;
    });
  }

  messageHandler(handler: MessageHandler): void {
    this.#inbox.setHandler((result) => {
      handler(result.ok ? { ok: true, message: result.value } : result);
    });
  }

  disconnect(): Promise<void> {
    this.#closing ??= this.#disconnect();
    return this.#closing;
  }

  async #disconnect(): Promise<void> {
    const current = this.#state === 'open' ? this.#current : undefined;
    this.#stop.abort();
    if (current !== undefined) {
      // Its terminal (local-close) result ends this socket too, in #attach's handler.
      this.#state = 'closed';
      await current.disconnect();
      return;
    }
    this.#end(new ConnectionLostError('local-close'));
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#inbox[Symbol.asyncIterator]();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }

  /**
   * Makes `socket` the current connection, then (after `beforeWire`, e.g. the reconnect
   * callback, so that a connection that dies at once reports its loss after its reconnect)
   * takes its messages and sends what waited.
   */
  #attach(socket: Socket, beforeWire?: () => void): void {
    this.#current = socket;
    this.#state = 'open';
    beforeWire?.();
    socket.messageHandler((result) => {
      if (result.ok) {
        this.#inbox.push(result.message);
        return;
      }
      if (this.#current !== socket) return;
      this.#current = undefined;
      if (this.#stop.signal.aborted) {
        this.#end(result.error);
        return;
      }
      this.#state = 'reconnecting';
      debug('reconnecting %s: connection lost (%s)', this.#resolvedEndpoint, result.error.message);
      this.#onDisconnect?.(result.error);
      void this.#reconnect();
    });
    // Sends that waited go out first, in the order they were made.
    const waiting = this.#waiting.splice(0);
    this.#waitingBytes = 0;
    for (const entry of waiting) {
      clearTimeout(entry.timer);
      socket.sendMessage(entry.message).then(entry.resolve, entry.reject);
    }
  }

  /** Never rejects: every outcome ends in #attach or #end. */
  async #reconnect(): Promise<void> {
    const { retry } = this.#rules;
    let lastError: unknown;
    let attempts = 0;
    for (let k = 0; k < retry.attempts; k++) {
      try {
        if (k > 0) await sleep(backoffDelayMs(retry, k - 1), undefined, { signal: this.#stop.signal });
        attempts++;
        const socket = await connect(this.#endpoint, { ...this.#options, signal: this.#signal() });
        if (this.#stop.signal.aborted) {
          await socket.disconnect();
          break;
        }
        this.#reconnects++;
        debug('reconnected to %s after %d attempt(s)', this.#resolvedEndpoint, attempts);
        this.#attach(socket, () => this.#onReconnect?.(attempts));
        return;
      } catch (error) {
        lastError = error;
        if (this.#stop.signal.aborted || !isServerMissing(error)) break;
      }
    }
    if (this.#stop.signal.aborted) {
      this.#end(new ConnectionLostError('local-close'));
      return;
    }
    debug('reconnecting %s: gave up after %d attempt(s)', this.#resolvedEndpoint, attempts);
    this.#end(new ReconnectFailedError(this.#resolvedEndpoint, attempts, lastError));
  }

  #signal(): AbortSignal {
    const user = this.#options.signal;
    return user === undefined ? this.#stop.signal : AbortSignal.any([user, this.#stop.signal]);
  }

  #end(error: IpcezError): void {
    if (this.#terminal !== undefined) return;
    this.#terminal = error;
    this.#state = 'closed';
    this.#stop.abort();
    for (const entry of this.#waiting.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
    this.#waitingBytes = 0;
    this.#inbox.end(error);
  }
}
