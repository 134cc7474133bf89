import { RecipientAckTimeoutError } from '../errors.js';

// The sender's side of protocol v2 (docs/PROTOCOL.md, "Protocol v2"): one slot per data frame
// handed to the transport, in send order. An ACK of n settles the n oldest unsettled slots;
// a slot times out `ackTimeoutMs` after its frame's last byte was handed to the OS, and stays
// in line (a later ACK still counts it, settling nothing); the end of the connection rejects
// every slot still waiting at once.
//
//   open --add()--> slot: waiting --written()--> counting down --ACK--> acked (resolved)
//                                      |                        '--timeout--> timed out (rejected, still in line)
//                                      '--cancel() (never written: refused, aborted) --> removed from the line
//   any --fail(error)--> every waiting slot rejects with error

/** One send waiting for its ACK. Opaque outside this module. */
export interface AckSlot {
  /** Settles when the peer acked this frame (or it timed out, or the connection ended). */
  readonly promise: Promise<void>;
}

interface Slot extends AckSlot {
  resolve: () => void;
  reject: (error: unknown) => void;
  /** `performance.now()` deadline, once written; `Infinity` before. */
  deadline: number;
  isSettled: boolean;
}

const SETTLED: Promise<void> = Promise.resolve();
function noop(): void {
  // An unwaited slot has nobody to tell.
}
/** The one place in line of every unwaited send that cannot be withdrawn (already settled). */
const UNWAITED: Slot = { promise: SETTLED, resolve: noop, reject: noop, deadline: Infinity, isSettled: true };

/** What {@link AckLedger.acknowledge} found wrong with an ACK, or `undefined` when it is fine. */
export type AckViolation = string | undefined;

/**
 * The in-flight sends of one connection and direction, settled by the peer's ACK counts.
 * One timer at most (for the oldest slot counting down), on the monotonic clock.
 */
export class AckLedger {
  readonly #ackTimeoutMs: number;
  /** Slots not yet acknowledged, oldest first (settled ones that timed out included). */
  #line: Slot[] = [];
  #head = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #failure: unknown;

  /** @param ackTimeoutMs - how long after its frame was written a send waits for its ACK. */
  constructor(ackTimeoutMs: number) {
    this.#ackTimeoutMs = ackTimeoutMs;
  }

  /** Slots handed out and not yet acknowledged (timed-out ones included). */
  get outstanding(): number {
    return this.#line.length - this.#head;
  }

  /**
   * Settles once every slot handed out so far settled: acked, timed out, withdrawn, or failed
   * by the end of the connection. What a graceful close waits for.
   *
   * @returns never rejects.
   */
  settled(): Promise<void> {
    const pending: Promise<void>[] = [];
    const line = this.#line;
    for (let i = this.#head; i < line.length; i++) {
      const slot = line[i]!;
      if (!slot.isSettled) pending.push(slot.promise);
    }
    return Promise.allSettled(pending).then(noop);
  }

  /**
   * Adds the slot of the next data frame, in send order.
   *
   * @returns the slot; its promise settles with the ACK, the timeout or the end.
   */
  add(): AckSlot {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const slot: Slot = { promise, resolve, reject, deadline: Infinity, isSettled: false };
    if (this.#failure !== undefined) {
      slot.isSettled = true;
      reject(this.#failure);
      return slot;
    }
    this.#line.push(slot);
    return slot;
  }

  /**
   * Adds the place in line of a data frame whose send does not wait for its ACK: the peer
   * acks it all the same, and ACK counts must stay exact. A send that can never be withdrawn
   * (no `signal`) shares one settled place; one that can gets its own, for
   * {@link AckLedger.cancel}.
   *
   * @param isCancellable - whether the send may still be withdrawn before it is written.
   * @returns the slot (its promise is already settled).
   */
  addUnwaited(isCancellable: boolean): AckSlot {
    const slot: Slot = isCancellable
      ? { promise: SETTLED, resolve: noop, reject: noop, deadline: Infinity, isSettled: true }
      : UNWAITED;
    if (this.#failure === undefined) this.#line.push(slot);
    return slot;
  }

  /**
   * The slot's frame was handed to the OS (its last byte): its timeout starts now.
   *
   * @param slot - a slot from {@link AckLedger.add}.
   */
  written(slot: AckSlot): void {
    const own = slot as Slot;
    if (own.isSettled || own.deadline !== Infinity) return;
    own.deadline = performance.now() + this.#ackTimeoutMs;
    if (this.#timer === undefined) this.#arm(own.deadline);
  }

  /**
   * The slot's frame will never be written (refused, aborted while waiting for room): it
   * leaves the line, and rejects with `error`.
   *
   * @param slot - a slot from {@link AckLedger.add}, not yet written.
   * @param error - what its send rejects with.
   */
  cancel(slot: AckSlot, error: unknown): void {
    const own = slot as Slot;
    const index = this.#line.indexOf(own, this.#head);
    if (index !== -1) this.#line.splice(index, 1);
    if (!own.isSettled) {
      own.isSettled = true;
      own.reject(error);
    }
  }

  /**
   * The peer read `count` more of our data frames: settles the `count` oldest slots.
   *
   * @param count - the ACK's value.
   * @returns `undefined`, or what is wrong with the ACK (0, or more than are outstanding): a
   *   protocol error for the caller to end the connection with. Nothing is settled then.
   */
  acknowledge(count: number): AckViolation {
    if (count < 1) return `ACK 0 (an ACK counts at least one frame)`;
    if (count > this.outstanding) {
      return `ACK ${count} for more data frames than were sent and not yet acknowledged (${this.outstanding})`;
    }
    const line = this.#line;
    const end = this.#head + count;
    for (let i = this.#head; i < end; i++) {
      const slot = line[i]!;
      line[i] = undefined as unknown as Slot;
      if (!slot.isSettled) {
        slot.isSettled = true;
        slot.resolve();
      }
    }
    this.#head = end;
    if (this.#head === line.length) {
      this.#line = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > line.length) {
      this.#line = line.slice(this.#head);
      this.#head = 0;
    }
    return undefined;
  }

  /**
   * The connection ended: every slot still waiting rejects with `error`, at once; later
   * `add()`s reject with it too. Idempotent (the first error stays).
   *
   * @param error - the connection's terminal error.
   */
  fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#disarm();
    const line = this.#line;
    for (let i = this.#head; i < line.length; i++) {
      const slot = line[i]!;
      if (slot.isSettled) continue;
      slot.isSettled = true;
      slot.reject(error);
    }
    this.#line = [];
    this.#head = 0;
  }

  #arm(deadline: number): void {
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#expire();
      },
      Math.max(0, deadline - performance.now()),
    );
    // The sends waiting on it keep their callers' promises pending; the timer itself must not
    // keep a process alive whose connection is otherwise idle.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  // Slots are written in line order, so their deadlines rise along the line: expire from the
  // head while the deadline has passed, then arm for the next one counting down.
  #expire(): void {
    const now = performance.now();
    const line = this.#line;
    let next = Infinity;
    for (let i = this.#head; i < line.length; i++) {
      const slot = line[i]!;
      if (slot.isSettled) continue;
      if (slot.deadline === Infinity) break;
      if (slot.deadline > now) {
        next = slot.deadline;
        break;
      }
      slot.isSettled = true;
      slot.reject(new RecipientAckTimeoutError(this.#ackTimeoutMs));
    }
    if (next !== Infinity) this.#arm(next);
  }
}
