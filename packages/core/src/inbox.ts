import { invalidArgError } from './errors.js';

/** One item delivered to a handler: a success with the item, or the one terminal error. */
export type InboxResult<T, E extends Error> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

/** Options of {@link Inbox}. */
export interface InboxOptions<E extends Error> {
  /**
   * Weight of an item for flow control (e.g. `message.length`); default 1 per item.
   * Used with `highWaterMark` to tell the producer when to pause.
   */
  readonly weigh?: (item: unknown) => number;
  /** Pause the producer when the buffered weight reaches this. Default: never pause. */
  readonly highWaterMark?: number;
  /** Called when buffered weight reaches `highWaterMark` (stop reading the source). */
  readonly onPause?: () => void;
  /** Called when the buffer drains after a pause (read the source again). */
  readonly onResume?: () => void;
  /**
   * Whether a terminal error ends async iteration normally (`done`) instead of throwing it.
   * Default: every terminal error is thrown by the iterator.
   */
  readonly isCleanEnd?: (error: E) => boolean;
}

// Lifecycle:
//
//   buffering --setHandler()/iterator--> consuming
//       |                                   |
//       +-------- end(error) ---------------+--> ended (terminal result queued or delivered once)
//
// Items and the terminal error are queued until a consumer exists, then handed over in
// order. The terminal error is always last and delivered exactly once; nothing after it.

/**
 * An ordered, single-consumer queue of items followed by exactly one terminal error: the
 * delivery contract of every ipcez connection (messages, then one error) and listener
 * (connections, then the close). Items pushed before a consumer exists are kept, not
 * dropped; the producer is told to pause when too much is buffered, so memory stays bounded.
 *
 * Consumers: either one handler (`setHandler`, called synchronously with each result, in
 * order) or one async iterator, never both. Handler exceptions propagate to the producer's
 * call (they are not caught and logged).
 *
 * @typeParam T - item type.
 * @typeParam E - terminal error type.
 * @example
 * ```ts
 * const inbox = new Inbox<Uint8Array, Error>();
 * inbox.push(message);            // kept until a consumer exists
 * inbox.setHandler((r) => r.ok ? use(r.value) : done(r.error));
 * inbox.end(new Error('closed')); // delivered once, last
 * ```
 */
export class Inbox<T, E extends Error> {
  readonly #items: T[] = [];
  #head = 0;
  #weight = 0;
  #paused = false;
  #ended = false;
  #terminal: { error: E } | undefined;
  #terminalDelivered = false;
  #handler: ((result: InboxResult<T, E>) => void) | undefined;
  #hasConsumer = false;
  #waiter: (() => void) | undefined;
  #isDelivering = false;
  #isDrainScheduled = false;
  readonly #options: InboxOptions<E>;

  /** @param options - {@link InboxOptions}. */
  constructor(options: InboxOptions<E> = {}) {
    this.#options = options;
  }

  /** Whether `end()` was called. */
  get isEnded(): boolean {
    return this.#ended;
  }

  /** Whether a handler is set or iteration started (one consumer only). */
  get hasConsumer(): boolean {
    return this.#hasConsumer;
  }

  /** Items buffered and not yet handed to a consumer. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /**
   * The items buffered now, in order, not yet handed to a consumer (a copy).
   *
   * @returns the buffered items.
   */
  snapshot(): T[] {
    return this.#items.slice(this.#head);
  }

  /** Weight buffered (see {@link InboxOptions.weigh}). */
  get bufferedWeight(): number {
    return this.#weight;
  }

  /**
   * Adds an item. Ignored after `end()`. With a handler set and nothing buffered, the handler
   * is called synchronously.
   *
   * @param item - the item.
   */
  push(item: T): void {
    if (this.#ended) return;
    if (this.#handler && this.size === 0 && !this.#isDelivering) {
      this.#handler({ ok: true, value: item });
      return;
    }
    this.#append(item);
    // A handler that threw earlier left items behind: hand them over now, in order.
    if (this.#handler) this.#drainToHandler();
  }

  /**
   * Adds an item without handing it to a handler synchronously: with a handler set, it is
   * delivered, after every item before it, on a later microtask. For producers that must
   * not call the handler right now (e.g. the rest of a batch after the handler threw).
   * Ignored after `end()`.
   *
   * @param item - the item.
   */
  pushDeferred(item: T): void {
    if (this.#ended) return;
    this.#append(item);
    if (this.#handler) this.#scheduleDrain();
  }

  #append(item: T): void {
    this.#items.push(item);
    this.#weight += this.#weigh(item);
    const { highWaterMark } = this.#options;
    if (!this.#paused && highWaterMark !== undefined && this.#weight >= highWaterMark) {
      this.#paused = true;
      this.#options.onPause?.();
    }
    this.#wake();
  }

  #scheduleDrain(): void {
    if (this.#isDrainScheduled) return;
    this.#isDrainScheduled = true;
    queueMicrotask(() => {
      this.#isDrainScheduled = false;
      this.#drainToHandler();
    });
  }

  /**
   * Ends the inbox with its one terminal error; later calls are ignored.
   *
   * @param error - the terminal error.
   */
  end(error: E): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#terminal = { error };
    if (this.#handler) this.#drainToHandler();
    this.#wake();
  }

  /**
   * Sets the one handler: buffered results are delivered at once, in order, then each new
   * one as it comes; the terminal error last, once.
   *
   * @param handler - called with each result.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when not a function, or when a consumer is already set.
   */
  setHandler(handler: (result: InboxResult<T, E>) => void): void {
    if (typeof handler !== 'function') throw invalidArgError('handler must be a function');
    this.#claim();
    this.#handler = handler;
    this.#drainToHandler();
  }

  /**
   * Iterates the items; ends when the terminal error arrives, which is thrown unless
   * `isCleanEnd(error)` says it is a normal end. Breaking out early does not end the inbox.
   *
   * @returns an async iterator of the items.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when a consumer is already set.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    this.#claim();
    for (;;) {
      if (this.size > 0) {
        yield this.#shift();
        continue;
      }
      if (this.#terminal) {
        this.#terminalDelivered = true;
        const { error } = this.#terminal;
        if (this.#options.isCleanEnd?.(error)) return;
        throw error;
      }
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
      });
    }
  }

  #claim(): void {
    if (this.#hasConsumer) {
      throw invalidArgError('this already has a consumer: set one handler or iterate once, not both');
    }
    this.#hasConsumer = true;
  }

  #weigh(item: T): number {
    return this.#options.weigh ? this.#options.weigh(item) : 1;
  }

  #shift(): T {
    const item = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    this.#weight -= this.#weigh(item);
    if (this.#paused && this.#weight < (this.#options.highWaterMark ?? Infinity) / 2) {
      this.#paused = false;
      this.#options.onResume?.();
    }
    return item;
  }

  // A handler that throws propagates to whoever caused the delivery (push, setHandler,
  // end), but never wedges the inbox: what is left is handed over on a later microtask.
  #drainToHandler(): void {
    const handler = this.#handler;
    if (!handler || this.#isDelivering) return;
    this.#isDelivering = true;
    let isDone = false;
    try {
      while (this.size > 0) handler({ ok: true, value: this.#shift() });
      if (this.#terminal && !this.#terminalDelivered) {
        this.#terminalDelivered = true;
        handler({ ok: false, error: this.#terminal.error });
      }
      isDone = true;
    } finally {
      this.#isDelivering = false;
      if (!isDone) this.#scheduleDrain();
    }
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }
}
