import type { Connection, IpcezError, MessageResult } from '@ipcez/core';

/**
 * Sets a connection's one message handler and records what it gets: the messages in order,
 * and every error result (the contract allows exactly one, last; `errors` lets a test check
 * that). `until(n)` and `ended` wait for them.
 */
export class Collector {
  /** Every message delivered, in order. */
  readonly messages: Uint8Array[] = [];
  /** Every error result delivered (exactly one once the connection ended). */
  readonly errors: IpcezError[] = [];
  /** Results delivered after the first error result (must stay 0). */
  resultsAfterEnd = 0;
  /** Resolves with the first error result. */
  readonly ended: Promise<IpcezError>;
  #waiters: { count: number; resolve: () => void }[] = [];
  #resolveEnded!: (error: IpcezError) => void;

  /** @param connection - the connection whose handler this becomes. */
  constructor(connection: Connection) {
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve;
    });
    connection.messageHandler((result: MessageResult) => {
      if (this.errors.length > 0) this.resultsAfterEnd++;
      if (result.ok) {
        this.messages.push(result.message);
        if (this.#waiters.length > 0) this.#wake();
      } else {
        this.errors.push(result.error);
        this.#resolveEnded(result.error);
      }
    });
  }

  /**
   * @param count - how many messages to wait for.
   * @returns resolves once `count` messages arrived (rejects if the connection ends first).
   */
  until(count: number): Promise<void> {
    if (this.messages.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiters.push({ count, resolve });
      this.ended.then(
        (error) => {
          if (this.messages.length < count) {
            reject(new Error(`connection ended after ${this.messages.length} of ${count} messages`, { cause: error }));
          }
        },
        () => undefined,
      );
    });
  }

  #wake(): void {
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.messages.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }
}
