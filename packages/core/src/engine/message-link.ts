import { CONTROL_TYPES, MAX_CONTROL_VALUE, V2_PROTOCOL_VERSION, parseControlHeader } from '@ipcez/framing';
import type { IpcezError } from '@ipcez/framing';
import { IoError, ProtocolError, invalidArgError, isIpcezError } from '../errors.js';
import { enqueueControl } from './link.js';
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
  /**
   * Sends one text message (a control message of protocol v2, docs/PROTOCOL.md §5.6), in
   * order after every message handed to `send` before it. No completion: a failure shows as
   * the socket's close.
   */
  sendText(text: string): void;
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
  /**
   * One whole received message. `isText` is true for a text message (its UTF-8 bytes), false
   * for a binary one.
   */
  message(data: Uint8Array, isText: boolean): void;
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
  /**
   * Text messages are control messages from the start (a WebSocket whose handshake agreed on
   * `ipcez.v2`, docs/PROTOCOL.md §5.6): those received before a control handler is set are
   * held, and handed to it once one is. Default `false`: text messages are data until a
   * control handler is set.
   */
  readonly isTextControl?: boolean;
}

/** Close code of a graceful end (RFC 6455 §7.4.1: normal closure). */
const NORMAL_CLOSURE = 1000;

/** Close code of a protocol violation (RFC 6455 §7.4.1: protocol error). */
const PROTOCOL_ERROR_CLOSURE = 1002;

/** The errors that end a WebSocket with a closing handshake and code 1002, not an abort. */
const PROTOCOL_ERROR_CODES: ReadonlySet<string> = new Set(['IPCEZ_ERR_PROTOCOL', 'IPCEZ_ERR_ACK_UNAVAILABLE']);

/** `ack <n>`: decimal, 1 ≤ n < 2^24, no sign, no leading zero (docs/PROTOCOL.md §5.6). */
const ACK_TEXT = /^ack ([1-9][0-9]{0,7})$/;

/** The text form of HELLO_REPLY 2: the first message of an `ipcez.v2` server. */
const HELLO_TEXT = `hello ${V2_PROTOCOL_VERSION}`;

/** No control text is longer than this many bytes (`ack 16777215` is 12). */
const MAX_CONTROL_TEXT_BYTES = 16;

function controlHeader(type: number, value: number): number {
  return ((0x80 | type) * 0x100_0000 + value) >>> 0;
}

/**
 * The text message that carries a control header on a WebSocket (docs/PROTOCOL.md §5.6):
 * ACK n is `ack <n>`, HELLO_REPLY 2 is `hello 2`; no other header has a text form.
 *
 * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) for a header without one.
 */
function controlText(header: number): string {
  const control = parseControlHeader(header >>> 0);
  if (control?.type === CONTROL_TYPES.ACK && control.value >= 1) return `ack ${control.value}`;
  if (control?.type === CONTROL_TYPES.HELLO_REPLY && control.value === V2_PROTOCOL_VERSION) return HELLO_TEXT;
  throw invalidArgError(`control header 0x${(header >>> 0).toString(16)} has no WebSocket text form`);
}

let textDecoder: InstanceType<typeof TextDecoder> | undefined;

/**
 * The control header a received text message stands for: `ack <n>` is ACK n, `hello 2` is
 * HELLO_REPLY 2 (the handler decides whether it is allowed where it came).
 *
 * @throws ProtocolError for any other text.
 */
function controlFromText(data: Uint8Array): number {
  textDecoder ??= new TextDecoder();
  const text = textDecoder.decode(data.subarray(0, Math.min(data.length, 40)));
  if (data.length <= MAX_CONTROL_TEXT_BYTES) {
    const ack = ACK_TEXT.exec(text);
    if (ack !== null) {
      const count = Number(ack[1]);
      if (count <= MAX_CONTROL_VALUE) return controlHeader(CONTROL_TYPES.ACK, count);
    } else if (text === HELLO_TEXT) {
      return controlHeader(CONTROL_TYPES.HELLO_REPLY, V2_PROTOCOL_VERSION);
    }
  }
  const shown = data.length > 40 ? `${JSON.stringify(text)}... (${data.length} bytes)` : JSON.stringify(text);
  throw new ProtocolError(
    `unexpected text message ${shown} on an ipcez.v2 WebSocket (only "ack <n>", 1 ≤ n < 2^24, is allowed)`,
  );
}

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
 * messages), over a {@link MessageSocket}. Runs in Node and in browsers (no `node:*`). It
 * **owns** the socket.
 *
 * **Read batches.** Without a control handler each received message is its own read batch,
 * delivered at once. With one (protocol v2, docs/PROTOCOL.md §5.6), a read batch is every
 * message received before the next microtask checkpoint: the `ws` package emits all the
 * messages one socket read completed synchronously, so a batch is one read from the socket,
 * and it is acked with one `ack <n>`.
 *
 * **Control messages.** With a control handler set, a text message is control: `ack <n>` and
 * `hello 2` are handed to it as the ACK n and HELLO_REPLY 2 headers, any other text ends the
 * link with a `ProtocolError`. Queued control headers go out as text messages (`ack <n>`,
 * `hello 2`) on the next microtask, ahead of any data message not yet handed to the socket.
 * A link ended by a `ProtocolError` (or `AckUnavailableError`) closes with code 1002.
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
  /** Control headers queued, sent as text messages on the next microtask (or before data). */
  #control: number[] = [];
  #isControlScheduled = false;
  #controlHandler: ((header: number, precedingMessages: number) => void) | undefined;
  /** The read batch being collected (with a control handler), delivered on the next microtask. */
  #pending: Uint8Array[] = [];
  #isDeliveryScheduled = false;
  /** Data messages received so far (to tell a held control message what came before it). */
  #received = 0;
  /** Control messages received before a control handler was set (`isTextControl`). */
  #held: { readonly data: Uint8Array; readonly preceding: number }[] = [];

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
      message: (data, isText) => {
        if (this.#hasEnded) return;
        const handler = this.#controlHandler;
        if (isText && handler === undefined && this.#settings.isTextControl === true) {
          this.#held.push({ data, preceding: this.#received });
          return;
        }
        if (isText && handler !== undefined) {
          this.#onControlText(data, handler, this.#pending.length);
          return;
        }
        this.#received++;
        if (handler === undefined && this.#pending.length === 0) {
          sink.receive([data]);
        } else {
          this.#pending.push(data);
          if (!this.#isDeliveryScheduled) {
            this.#isDeliveryScheduled = true;
            queueMicrotask(this.#deliver);
          }
        }
      },
      fail: (error) => {
        this.#deliver();
        this.#hasFailed = true;
        this.#report(error, false);
        this.#armFailTimer();
      },
      closed: (error, isClean) => {
        this.#deliver();
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
        if (this.#control.length > 0) this.#flushControl();
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

  queueControl(header: number, merge?: (queued: number) => number | undefined): void {
    // Checked now, so a header without a text form fails its caller, not a later microtask.
    controlText(header);
    if (this.#isDestroyed || this.#isEnding || this.#hasEnded) return;
    if (!enqueueControl(this.#control, header, merge)) return;
    if (!this.#isControlScheduled) {
      this.#isControlScheduled = true;
      queueMicrotask(this.#onControlTurn);
    }
  }

  setControlHandler(handler: ((header: number, precedingMessages: number) => void) | undefined): void {
    this.#controlHandler = handler;
    // Held control messages go to it on the next microtask, in order, before any later read.
    if (handler !== undefined && this.#held.length > 0) queueMicrotask(this.#replayHeld);
  }

  end(): void {
    if (this.#isEnding) return;
    // Queued control messages (acks of what was read) and the batch still collecting go
    // first; the socket writes the close frame after them.
    this.#flushControl();
    this.#isEnding = true;
    this.#flush();
    this.#socket?.close(NORMAL_CLOSURE, '');
  }

  destroy(error: IpcezError): void {
    if (this.#isDestroyed) return;
    this.#isDestroyed = true;
    this.#rejectAll(error);
    this.#control = [];
    if (this.#isClosed) return;
    // After a failure the socket is already closing with the right close code: let it
    // finish, bounded by the fail timer. A protocol violation closes with 1002 the same way;
    // anything else aborts now.
    if (this.#hasFailed) return;
    if (PROTOCOL_ERROR_CODES.has(error.code)) {
      this.#hasFailed = true;
      this.#socket?.close(PROTOCOL_ERROR_CLOSURE, 'ipcez protocol error');
      this.#armFailTimer();
      return;
    }
    this.#socket?.terminate();
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
    if (this.#control.length > 0) this.#flushControl();
    this.#socket!.send(messages, this.#written);
  };

  readonly #deliver = (): void => {
    this.#isDeliveryScheduled = false;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    if (!this.#hasEnded) this.#sink?.receive(batch);
  };

  #onControlText(
    data: Uint8Array,
    handler: (header: number, precedingMessages: number) => void,
    precedingMessages: number,
  ): void {
    try {
      handler(controlFromText(data), precedingMessages);
    } catch (error) {
      // The data messages before the bad control message are delivered first, as on a byte stream.
      this.#deliver();
      const message = error instanceof Error ? error.message : String(error);
      this.#report(
        isIpcezError(error) ? error : new IoError(`control message failed: ${message}`, { cause: error }),
        false,
      );
    }
  }

  /** Hands the control messages held before a handler was set to the handler now in place. */
  readonly #replayHeld = (): void => {
    while (this.#held.length > 0 && !this.#hasEnded) {
      const handler = this.#controlHandler;
      if (handler === undefined) return;
      const { data, preceding } = this.#held.shift()!;
      this.#onControlText(data, handler, preceding);
    }
  };

  readonly #onControlTurn = (): void => {
    this.#isControlScheduled = false;
    this.#flushControl();
  };

  #flushControl(): void {
    const control = this.#control;
    if (control.length === 0 || this.#isDestroyed || this.#hasEnded) return;
    this.#control = [];
    for (const header of control) this.#socket!.sendText(controlText(header));
  }

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
