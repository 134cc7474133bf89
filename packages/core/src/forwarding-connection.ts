import type { IpcezError } from '@ipcez/framing';
import type { Connection, ConnectionState, MessageHandler, SendOptions, TransportKind } from './contracts.js';

/**
 * A {@link Connection} that forwards every member to another one: the base of a decorator
 * that changes a few members (sends, the close, tracing) and keeps the rest as they are. It
 * holds no state of its own.
 *
 * **Ownership.** It **owns** `inner` in the sense of the contract: closing or destroying it
 * closes or destroys `inner`.
 *
 * @example
 * ```ts
 * class CountingConnection extends ForwardingConnection {
 *   sent = 0;
 *   override async send(message: Uint8Array, options?: SendOptions): Promise<void> {
 *     await super.send(message, options);
 *     this.sent++;
 *   }
 * }
 * ```
 */
export class ForwardingConnection implements Connection {
  /** The connection every member not overridden is forwarded to. */
  protected readonly inner: Connection;

  /** @param inner - the connection to forward to, now owned. */
  constructor(inner: Connection) {
    this.inner = inner;
  }

  /** The inner connection's transport. */
  get transport(): TransportKind {
    return this.inner.transport;
  }

  /** The inner connection's endpoint. */
  get endpoint(): string {
    return this.inner.endpoint;
  }

  /** The inner connection's peer address, if any. */
  get remoteAddress(): string | undefined {
    return this.inner.remoteAddress;
  }

  /** The inner connection's state. */
  get state(): ConnectionState {
    return this.inner.state;
  }

  /** The inner connection's queued bytes. */
  get bufferedAmount(): number {
    return this.inner.bufferedAmount;
  }

  /** The inner connection's high-water mark. */
  get highWaterMark(): number {
    return this.inner.highWaterMark;
  }

  /** The inner connection's payload limit. */
  get maxMessageBytes(): number {
    return this.inner.maxMessageBytes;
  }

  /**
   * Forwards to the inner connection's `send`.
   *
   * @param message - the payload.
   * @param options - as for {@link Connection.send}.
   * @returns the inner send's promise.
   */
  send(message: Uint8Array, options?: SendOptions): Promise<void> {
    return this.inner.send(message, options);
  }

  /**
   * Forwards to the inner connection's `messageHandler`.
   *
   * @param handler - receives each result.
   */
  messageHandler(handler: MessageHandler): void {
    this.inner.messageHandler(handler);
  }

  /**
   * Iterates the inner connection's messages.
   *
   * @returns its iterator.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.inner[Symbol.asyncIterator]();
  }

  /** Forwards to the inner connection's `pauseReading`, where it has one. */
  pauseReading(): void {
    this.inner.pauseReading?.();
  }

  /** Forwards to the inner connection's `resumeReading`, where it has one. */
  resumeReading(): void {
    this.inner.resumeReading?.();
  }

  /**
   * Forwards to the inner connection's graceful `close`.
   *
   * @returns its promise.
   */
  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * Forwards to the inner connection's `destroy`.
   *
   * @param error - the terminal error to report.
   */
  destroy(error?: IpcezError): void {
    this.inner.destroy(error);
  }

  /**
   * Same as `close()`, for `await using`.
   *
   * @returns the `close()` promise.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
