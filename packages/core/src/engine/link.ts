import type { IpcezError } from '@ipcez/framing';

/**
 * What a {@link Link} reports to its connection engine. Every call comes from the link's own
 * I/O callbacks (never synchronously from a method the engine called on the link).
 */
export interface LinkSink {
  /**
   * One read batch: the whole messages that one read from the transport completed (a chunk
   * of a byte stream, or one WebSocket message), in order. Never empty.
   */
  receive(messages: readonly Uint8Array[]): void;
  /** Writes completed: there may be room under the high-water mark again. */
  drained(): void;
  /**
   * The link ended: the peer's end, a reset, a protocol error. `isClean` is true only for an
   * orderly end at a message boundary (FIN between frames; a WebSocket closing handshake).
   * Called at most once; nothing is received after it.
   */
  ended(error: IpcezError, isClean: boolean): void;
  /** Every handle of the link is released. Called exactly once, last. */
  closed(): void;
}

/**
 * The seam between the one message-connection engine and a transport: a transport supplies a
 * link (a byte stream for Unix sockets and named pipes, a message socket for WebSocket),
 * the engine does everything else (inbox, send queue, pause, close policy, clean end).
 *
 * **Contract.** The engine calls `open` once, first. `write` queues one message in order and
 * returns a promise settled when its bytes were handed to the OS (several writes may share
 * one promise); it is called only between `open` and `end`/`destroy`. `destroy` rejects every
 * unsettled write with the given error at once and releases the handle; the link then calls
 * `sink.closed()`. The link **owns** its socket.
 */
export interface Link {
  /**
   * Starts reading, reporting to `sink`.
   *
   * @param sink - the engine's {@link LinkSink}.
   */
  open(sink: LinkSink): void;
  /**
   * Queues one message (already checked against the size limit).
   *
   * @param message - the payload; not copied before it is written.
   * @returns settled when the message was handed to the OS, or rejected by `destroy`.
   */
  write(message: Uint8Array): Promise<void>;
  /** Bytes queued by `write` and not yet handed to the OS. */
  readonly bufferedAmount: number;
  /** Stops reading from the transport. */
  pause(): void;
  /** Reads again. */
  resume(): void;
  /** Graceful end: after every queued write, ends the write side (FIN, or a close frame). */
  end(): void;
  /**
   * Abortive end: rejects every unsettled write with `error`, destroys the socket. Idempotent.
   *
   * @param error - what unsettled writes reject with.
   */
  destroy(error: IpcezError): void;
  /**
   * Optional (links that carry control headers: byte streams as 4-byte headers, the message
   * link as text messages): queues a control header that goes out ahead of any data frame not
   * yet begun. With `merge`, the last header still queued may absorb it.
   *
   * @param header - the header, an unsigned 32-bit integer.
   * @param merge - given the last queued header, returns the merged one, or `undefined` to queue separately.
   */
  queueControl?(header: number, merge?: (queued: number) => number | undefined): void;
  /**
   * Optional (links that carry control headers): from now on, headers with the top bit set
   * (byte streams) or text messages (the message link) are control headers handed to
   * `handler`, not data; `undefined` switches back.
   *
   * @param handler - receives each control header; what it throws ends the link.
   */
  setControlHandler?(handler: ((header: number, precedingMessages: number) => void) | undefined): void;
}

/**
 * Adds a control header to a link's queue of headers not yet written: merged into the last
 * one when `merge` says so (two ACK counts into one), else appended. One rule for every link.
 *
 * @param queue - the link's queued headers, oldest first (changed in place).
 * @param header - the header, an unsigned 32-bit integer.
 * @param merge - given the last queued header, returns the merged one, or `undefined` to queue separately.
 * @returns `true` when the header was appended (the queue grew), `false` when it was merged.
 */
export function enqueueControl(
  queue: number[],
  header: number,
  merge: ((queued: number) => number | undefined) | undefined,
): boolean {
  const last = queue.length - 1;
  if (merge !== undefined && last >= 0) {
    const merged = merge(queue[last]!);
    if (merged !== undefined) {
      queue[last] = merged >>> 0;
      return false;
    }
  }
  queue.push(header >>> 0);
  return true;
}
