import { CONTROL_FLAG, CONTROL_TYPES, MAX_CONTROL_VALUE, parseControlHeader } from '@ipcez/framing';
import type { SendOptions } from '../contracts.js';
import type { MessageConnection } from '../engine/message-connection.js';
import { ProtocolError } from '../errors.js';
import { AckLedger } from './ack-ledger.js';

function noop(): void {
  // A rejection that needs no handling here (see the call site).
}

/**
 * The ACK control header for `count` frames (docs/PROTOCOL.md §5).
 *
 * @param count - 1 to 2^24 − 1.
 * @returns the header as an unsigned 32-bit integer.
 */
export function ackHeader(count: number): number {
  return (CONTROL_FLAG | (CONTROL_TYPES.ACK << 24) | count) >>> 0;
}

/** Merges a new ACK count into the last ACK still queued, while the sum fits in 24 bits. */
function mergeAck(count: number): (queued: number) => number | undefined {
  return (queued) => {
    const parsed = parseControlHeader(queued);
    if (parsed?.type !== CONTROL_TYPES.ACK) return undefined;
    const sum = parsed.value + count;
    return sum <= MAX_CONTROL_VALUE ? ackHeader(sum) : undefined;
  };
}

/** Names a control header for error messages. */
export function describeControl(header: number): string {
  const control = parseControlHeader(header);
  if (control === undefined) return `a data header (length ${header})`;
  switch (control.type) {
    case CONTROL_TYPES.HELLO:
      return `HELLO ${control.value}`;
    case CONTROL_TYPES.HELLO_REPLY:
      return `HELLO_REPLY ${control.value}`;
    case CONTROL_TYPES.ACK:
      return `ACK ${control.value}`;
    default:
      return `reserved control type ${control.type} (header 0x${header.toString(16)})`;
  }
}

// Protocol v2 on one connection, once agreed (docs/PROTOCOL.md §5):
//
//   receiving: each read batch of n data frames -> one ACK n queued (merged with an ACK still
//              queued) before the batch is delivered; reading never stops for it
//   sending:   acked sends take a slot in the ledger; an ACK of n settles the n oldest
//   control:   ACK only; HELLO / HELLO_REPLY / reserved types here are protocol errors
//   close:     a graceful close ends the write side only once every slot settled (bounded
//              by the ack timeout and the close timeout)
//   end:       every slot still waiting rejects at once with the terminal error

/**
 * The in-band acknowledgement of one connection in protocol v2: a decorator on the engine's
 * seam (read batches, control headers, end), with no inbox, send queue or pause flag of its
 * own. It acks every data frame read, whatever this side's own `ack` option;
 * {@link InBandAcks.send} is the acked send.
 *
 * **Ownership.** It **borrows** the connection: it never closes it (it ends it with a
 * `ProtocolError` when the peer breaks the protocol).
 *
 * @example
 * ```ts fragment
 * const acks = new InBandAcks(connection, 5000); // once negotiation chose v2
 * await acks.send(new TextEncoder().encode('hi')); // resolves once the peer read it
 * ```
 */
export class InBandAcks {
  readonly #connection: MessageConnection;
  readonly #ledger: AckLedger;
  readonly #disposables: Disposable[] = [];
  /** The acked sends of the latest write promise, settled together when it is written. */
  #group: { readonly written: Promise<void>; end: number; isDone: boolean } | undefined;

  /**
   * Starts v2 on `connection`: from now on every read batch is acked and control headers are
   * ACKs. Call it when negotiation chose v2, before any later data frame of the peer is
   * delivered (from the control handler that saw HELLO or HELLO_REPLY 2).
   *
   * @param connection - the connection (its link must carry control headers).
   * @param ackTimeoutMs - how long an acked send waits for its ACK after it was written.
   */
  constructor(connection: MessageConnection, ackTimeoutMs: number) {
    this.#connection = connection;
    this.#ledger = new AckLedger(ackTimeoutMs);
    connection.setControlHandler((header) => {
      this.#onControl(header);
    });
    this.#disposables.push(
      connection.observeReads((messages) => {
        // One ACK per read batch, before its frames are delivered: reading, not consuming, is
        // what an ACK means, so a slow consumer still acks what was read.
        const count = messages.length;
        connection.queueControl(ackHeader(count), mergeAck(count));
      }),
      // A graceful close waits for the ACKs still pending before it ends the write side (the
      // peer stops reading at our end): only what the peer never confirmed then rejects.
      connection.beforeEnd(() => this.#ledger.settled()),
      connection.onEnd((error) => {
        this.#ledger.fail(error);
        for (const disposable of this.#disposables.splice(0)) disposable[Symbol.dispose]();
      }),
    );
  }

  /** Sends waiting for their ACK (timed-out ones included until the peer acks past them). */
  get outstanding(): number {
    return this.#ledger.outstanding;
  }

  /**
   * Sends one message and resolves once the peer acked it; rejects with
   * `RecipientAckTimeoutError` `ackTimeoutMs` after it was written without an ACK, and with
   * the connection's terminal error at once if it ends first. A send the connection refuses
   * without writing takes no slot and rejects as the connection does.
   *
   * A send that does not wait for its ACK (`isWaiting` false) still takes its place in line (the peer acks every frame it reads, and counts must stay exact), and
   * settles when written, as an unacknowledged send does.
   *
   * @param message - the payload.
   * @param options - as for `Connection.send`.
   * @param isWaiting - whether the send waits for its ACK (default `true`).
   * @returns settles with the ACK (or, not waiting, when written).
   */
  send(message: Uint8Array, options?: SendOptions, isWaiting = true): Promise<void> {
    const connection = this.#connection;
    // One check: a send the engine refuses at once takes no place in line (it is never
    // written). A taken one gets its place right after: ACKs are read in later I/O callbacks.
    const written = connection.trySend(message, options);
    if (written === undefined) return connection.send(message, options);
    // The closures of the rarer paths are made in methods of their own: V8 allocates a
    // function's closure context on every call, whichever path the call takes.
    const ledger = this.#ledger;
    if (!isWaiting) {
      const signal = options?.signal;
      const position = ledger.addUnwaited(signal !== undefined);
      // Only a send with a signal can be withdrawn before it is written (aborted while it waits
      // for room); any other rejection is the connection's end, which fails the whole line.
      if (signal !== undefined) this.#cancelIfRefused(written, position);
      return written;
    }
    const position = ledger.end;
    const acked = ledger.add();
    if (options?.signal !== undefined) {
      written.then(() => {
        ledger.written(position + 1);
      }, noop);
      this.#cancelIfRefused(written, position);
      return acked;
    }
    // Sends written together share one write promise: their timeouts start together, with one
    // callback for the group instead of one per send (millions of small sends per second).
    // (A group closes when its callback runs: a write promise may be one already settled and
    // shared, for sends handed to the OS at once.)
    const current = this.#group;
    if (current?.written === written && !current.isDone) current.end = position + 1;
    else this.#startGroup(written, position + 1);
    return acked;
  }

  /** A send with a signal rejected while the connection is open was never written: it leaves the line. */
  #cancelIfRefused(written: Promise<void>, position: number): void {
    const connection = this.#connection;
    const ledger = this.#ledger;
    written.catch((error: unknown) => {
      // Aborted while it waited for room. After the end, fail() has settled it already.
      if (connection.state !== 'closed') ledger.cancel(position, error);
    });
  }

  #startGroup(written: Promise<void>, end: number): void {
    const ledger = this.#ledger;
    const group = { written, end, isDone: false };
    this.#group = group;
    written.then(
      () => {
        group.isDone = true;
        ledger.written(group.end);
      },
      // Without a signal a send rejects only when the connection ends: fail() settles it.
      noop,
    );
  }

  #onControl(header: number): void {
    const control = parseControlHeader(header);
    if (control?.type === CONTROL_TYPES.ACK) {
      const violation = this.#ledger.acknowledge(control.value);
      if (violation !== undefined) throw new ProtocolError(violation);
      return;
    }
    throw new ProtocolError(`${describeControl(header)} after the protocol was agreed`);
  }
}
