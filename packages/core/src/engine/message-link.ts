import type { IpcezError } from '@ipcez/framing';
import type { Link, LinkSink } from './link.js';

/**
 * What a message transport offers the {@link MessageLink}: the `ws` package in Node, the
 * global `WebSocket` in browsers. The socket is already open; it is **owned** by the link.
 */
export interface MessageSocket {
  /**
   * Hands messages (at least one), in order, to the socket, one transport message each.
   * `done` is called exactly once, asynchronously: without an error when the last byte was
   * handed to the OS, with an error when it never will be. Completions come in call order.
   */
  send(messages: readonly Uint8Array[], done: (error?: Error | null) => void): void;
  /** Starts the closing handshake. Queued messages are written before the close frame. */
  close(code: number, reason: string): void;
  /** Destroys the socket now. */
  terminate(): void;
  /** Stops reading from the socket. */
  pause(): void;
  /** Reads from the socket again. */
  resume(): void;
}

/** What a {@link MessageSocket} reports to its link. */
export interface MessageSocketSink {
  /** One whole received message. */
  message(data: Uint8Array): void;
  /**
   * The connection is failing (protocol error, oversized message, keepalive timeout): the
   * terminal error is known now; the socket closes itself later and `closed` follows.
   */
  fail(error: IpcezError): void;
  /**
   * The socket is closed. `error` is the terminal error when none was reported before;
   * `isClean` says whether it closed with a closing handshake.
   */
  closed(error: IpcezError, isClean: boolean): void;
}

/** Settings of a {@link MessageLink}. */
export interface MessageLinkSettings {
  /**
   * After the socket reported a failure (`fail`), how long the link lets it finish its own
   * closing handshake before terminating it.
   */
  readonly closeTimeoutMs: number;
}

/** Close code of a graceful end (RFC 6455 §7.4.1: normal closure). */
const NORMAL_CLOSURE = 1000;

/**
 * The writes admitted in one turn of the event loop: handed to the socket together (one
 * writev in Node) and settled together, by one promise that every one of those writes
 * returns. It resolves when the last of them was written, so each still resolves only once
 * its own bytes are with the OS; sharing it saves a promise and a callback per message.
 */
class SendBatch {
  messages: Uint8Array[] = [];
  size = 0;
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

function unrefTimer(timer: unknown): void {
  (timer as { unref?: () => void }).unref?.();
}

/**
 * The message {@link Link}: one ipcez message per transport message (WebSocket binary
 * messages), over a {@link MessageSocket}. Runs in Node and in browsers (no `node:*`). Each
 * received message is its own read batch. It **owns** the socket.
 *
 * @example
 * ```ts
 * const link = new MessageLink((sink) => new MySocketAdapter(ws, sink), { closeTimeoutMs: 5000 });
 * const connection = new MessageConnection(link, { transport: 'ws', endpoint: url });
 * ```
 */
export class MessageLink implements Link {
  readonly #attach: (sink: MessageSocketSink) => MessageSocket;
  readonly #settings: MessageLinkSettings;
  #socket: MessageSocket | undefined;
  #sink: LinkSink | undefined;
  #buffered = 0;
  // Batches admitted, oldest first; the last one may still be collecting (#batch). The socket
  // completes writes in order, so one shared callback settles the head each time.
  #batch: SendBatch | undefined;
  #inflight: SendBatch[] = [];
  #inflightHead = 0;
  #isDestroyed = false;
  #hasEnded = false;
  #isEnding = false;
  #hasFailed = false;
  #isClosed = false;
  #failTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param attach - builds the socket adapter over the open socket, reporting to the sink.
   * @param settings - {@link MessageLinkSettings}.
   */
  constructor(attach: (sink: MessageSocketSink) => MessageSocket, settings: MessageLinkSettings) {
    this.#attach = attach;
    this.#settings = settings;
  }

  open(sink: LinkSink): void {
    this.#sink = sink;
    this.#socket = this.#attach({
      message: (data) => {
        if (!this.#hasEnded) sink.receive([data]);
      },
      fail: (error) => {
        this.#hasFailed = true;
        this.#report(error, false);
        this.#armFailTimer();
      },
      closed: (error, isClean) => {
        this.#isClosed = true;
        if (this.#failTimer !== undefined) clearTimeout(this.#failTimer);
        this.#failTimer = undefined;
        this.#report(error, isClean);
        this.#rejectAll(error);
        this.#sink = undefined;
        sink.closed();
      },
    });
  }

  get bufferedAmount(): number {
    return this.#buffered;
  }

  write(message: Uint8Array): Promise<void> {
    let batch = this.#batch;
    if (batch === undefined) {
      // Nothing in flight: hand this one over now (latency); later writes of this tick
      // collect in the next batch, flushed as a microtask (throughput).
      const isIdle = this.#inflightHead === this.#inflight.length;
      batch = new SendBatch();
      this.#inflight.push(batch);
      batch.messages.push(message);
      batch.size = message.byteLength;
      this.#buffered += message.byteLength;
      if (isIdle) {
        this.#socket!.send(batch.messages, this.#written);
        batch.messages = [];
      } else {
        this.#batch = batch;
        queueMicrotask(this.#flush);
      }
      return batch.promise;
    }
    batch.messages.push(message);
    batch.size += message.byteLength;
    this.#buffered += message.byteLength;
    return batch.promise;
  }

  pause(): void {
    if (!this.#isDestroyed) this.#socket?.pause();
  }

  resume(): void {
    if (!this.#isDestroyed) this.#socket?.resume();
  }

  end(): void {
    if (this.#isEnding) return;
    this.#isEnding = true;
    // The batch still collecting goes first; the socket writes the close frame after it.
    this.#flush();
    this.#socket?.close(NORMAL_CLOSURE, '');
  }

  destroy(error: IpcezError): void {
    if (this.#isDestroyed) return;
    this.#isDestroyed = true;
    this.#rejectAll(error);
    if (this.#isClosed) return;
    // After a failure the socket is already closing with the right close code: let it
    // finish, bounded by the fail timer; otherwise abort now.
    if (!this.#hasFailed) this.#socket?.terminate();
  }

  #report(error: IpcezError, isClean: boolean): void {
    if (this.#hasEnded) return;
    this.#hasEnded = true;
    this.#sink?.ended(error, isClean);
  }

  #armFailTimer(): void {
    if (this.#failTimer !== undefined || this.#isClosed) return;
    this.#failTimer = setTimeout(() => {
      this.#failTimer = undefined;
      this.#socket?.terminate();
    }, this.#settings.closeTimeoutMs);
    unrefTimer(this.#failTimer);
  }

  readonly #flush = (): void => {
    const batch = this.#batch;
    if (batch === undefined || this.#isDestroyed) return;
    this.#batch = undefined;
    const { messages } = batch;
    batch.messages = [];
    this.#socket!.send(messages, this.#written);
  };

  readonly #written = (error?: Error | null): void => {
    // Everything was rejected already (the link was destroyed or closed).
    if (this.#inflightHead === this.#inflight.length) return;
    if (error !== undefined && error !== null) {
      // A failed write means the socket is going away; its close reports the end and
      // rejects what is left.
      return;
    }
    const entry = this.#inflight[this.#inflightHead]!;
    this.#inflight[this.#inflightHead] = undefined as unknown as SendBatch;
    this.#inflightHead++;
    if (this.#inflightHead === this.#inflight.length) {
      this.#inflight = [];
      this.#inflightHead = 0;
    } else if (this.#inflightHead > 4096 && this.#inflightHead * 2 > this.#inflight.length) {
      this.#inflight = this.#inflight.slice(this.#inflightHead);
      this.#inflightHead = 0;
    }
    this.#buffered -= entry.size;
    entry.resolve();
    this.#sink?.drained();
  };

  #rejectAll(error: IpcezError): void {
    const inflight = this.#inflight;
    const head = this.#inflightHead;
    this.#inflight = [];
    this.#inflightHead = 0;
    // A batch still collecting is never handed to the socket.
    this.#batch = undefined;
    for (let i = head; i < inflight.length; i++) inflight[i]!.reject(error);
    this.#buffered = 0;
  }
}
