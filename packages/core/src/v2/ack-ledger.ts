import { RecipientAckTimeoutError } from '../errors.js';

// The sender's side of protocol v2 (docs/PROTOCOL.md, "Protocol v2"): one place in line per
// data frame handed to the transport, in send order. An ACK of n settles the n oldest
// unsettled places; a waiting send times out `ackTimeoutMs` after its frame's last byte was
// handed to the OS, and stays in line (a later ACK still counts it, settling nothing); the end
// of the connection rejects every send still waiting at once.
//
//   open --add()--> waiting --written(end)--> counting down --ACK--> acked (resolved)
//                      |                           '--timeout--> timed out (rejected, still in line)
//                      '--cancel() (never written: refused, aborted) --> removed from the line
//   any --fail(error)--> every waiting send rejects with error
//
// Millions of small sends per second go through here, so the line holds no object of its own
// per send: an entry is either a waiting send's `resolve` (it rejects by resolving with a
// rejected promise, so its `reject` need not be kept) or a number, a run of that many frames
// already settled (sends that do not wait for their ACK share one run, a timed-out send
// becomes a run of 1, a cancelled one a run of 0). Entries are addressed by position (counted
// from the first entry ever added, so positions never move; the line is a ring indexed by
// position), and "written" is a position too: frames are written in line order, so writing a
// frame means every frame before it was written. Deadlines are kept per write, not per send.

/** A waiting send's resolve: `resolve()` on its ACK, `resolve(Promise.reject(error))` to reject it. */
type Resolve = (value?: PromiseLike<void>) => void;

/** What {@link AckLedger.acknowledge} found wrong with an ACK, or `undefined` when it is fine. */
export type AckViolation = string | undefined;

/** The resolve of the promise {@link AckLedger.add} is about to make. */
let capturedResolve: Resolve | undefined;
/** The executor of every send's promise: one function, so no closure is made per send. */
function capture(resolve: Resolve): void {
  capturedResolve = resolve;
}

/** Rejects a waiting send (a promise resolved with a rejected one rejects with its reason). */
function rejectWith(resolve: Resolve, error: unknown): void {
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the connection's own error, passed on as it is
  resolve(Promise.reject(error));
}

const SETTLED: Promise<void> = Promise.resolve();

/** Initial capacity of the line (a power of two; it doubles when full). */
const INITIAL_CAPACITY = 1024;
/** Compact the deadline queue once this many dropped deadlines lead it and they are most of it. */
const COMPACT_AFTER = 1024;

/**
 * The in-flight sends of one connection and direction, settled by the peer's ACK counts.
 * One timer at most (for the oldest write still counting down), on the monotonic clock.
 */
export class AckLedger {
  readonly #ackTimeoutMs: number;
  /**
   * The line, a ring: the entry at position p is at `p & #mask`. An entry is a waiting send's
   * resolve or a run of settled frames (see the module notes); entries already acknowledged
   * are 0, so the ring keeps no settled promise alive.
   */
  #entries: (Resolve | number)[] = new Array<Resolve | number>(INITIAL_CAPACITY).fill(0);
  #mask = INITIAL_CAPACITY - 1;
  /** Position of the oldest entry not yet acknowledged. */
  #head = 0;
  /** Position the next entry gets. */
  #end = 0;
  /** Frames in line not yet acknowledged (timed-out ones included). */
  #outstanding = 0;
  /** Whether the last entry is a run that later unwaited frames may join. */
  #isRunOpen = false;
  /** Entries before this position were written. */
  #writtenEnd = 0;
  /** Entries before this position were scanned by an expired deadline. */
  #expiredEnd = 0;
  /** One deadline per write, oldest first: entries before `#deadlineEnds[i]` time out at `#deadlines[i]`. */
  #deadlineEnds: number[] = [];
  #deadlines: number[] = [];
  #deadlineHead = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Callers of {@link AckLedger.settled}: each waits for the waiting sends before `target`. */
  #settledWaiters: { readonly target: number; readonly resolve: () => void }[] = [];
  #failure: unknown;
  #hasFailed = false;

  /** @param ackTimeoutMs - how long after its frame was written a send waits for its ACK. */
  constructor(ackTimeoutMs: number) {
    this.#ackTimeoutMs = ackTimeoutMs;
  }

  /** Frames in line and not yet acknowledged (timed-out ones included). */
  get outstanding(): number {
    return this.#outstanding;
  }

  /**
   * The position the next entry gets: the one {@link AckLedger.add} or
   * {@link AckLedger.addUnwaited} is about to add, and the `end` to give
   * {@link AckLedger.written} once every entry added so far was written.
   */
  get end(): number {
    return this.#end;
  }

  /**
   * Settles once every send that waits for its ACK and was added so far settled: acked, timed
   * out, withdrawn, or failed by the end of the connection. What a graceful close waits for.
   *
   * @returns never rejects.
   */
  settled(): Promise<void> {
    const target = this.#end;
    if (!this.#isWaitingBefore(target)) return SETTLED;
    return new Promise<void>((resolve) => {
      this.#settledWaiters.push({ target, resolve });
    });
  }

  /**
   * Adds the frame of the next send that waits for its ACK, in send order, at position
   * {@link AckLedger.end}.
   *
   * @returns its promise: settles with the ACK, the timeout or the end.
   */
  add(): Promise<void> {
    const promise = new Promise<void>(capture);
    const resolve = capturedResolve!;
    capturedResolve = undefined;
    if (this.#hasFailed) {
      rejectWith(resolve, this.#failure);
      return promise;
    }
    this.#push(resolve);
    this.#outstanding++;
    this.#isRunOpen = false;
    return promise;
  }

  /**
   * Adds the frame of a send that does not wait for its ACK: the peer acks it all the same,
   * and ACK counts must stay exact. A send that can never be withdrawn (not cancellable)
   * joins the run of settled frames at the end of the line; one that can gets an entry of its
   * own, for {@link AckLedger.cancel}.
   *
   * @param isCancellable - whether the send may still be withdrawn before it is written.
   * @returns the frame's position (for {@link AckLedger.cancel}).
   */
  addUnwaited(isCancellable: boolean): number {
    const position = this.#end;
    if (this.#hasFailed) return position;
    this.#outstanding++;
    if (this.#isRunOpen && !isCancellable) {
      const last = (position - 1) & this.#mask;
      this.#entries[last] = (this.#entries[last] as number) + 1;
      return position - 1;
    }
    this.#push(1);
    this.#isRunOpen = !isCancellable;
    return position;
  }

  /**
   * Every entry before position `end` was handed to the OS (its last byte): the timeouts of
   * the sends among them that were not yet written start now. Frames are written in line
   * order; an `end` at or before an earlier one changes nothing.
   *
   * @param end - a position from {@link AckLedger.end} (or a send's position + 1).
   */
  written(end: number): void {
    if (end <= this.#writtenEnd || this.#hasFailed) return;
    this.#writtenEnd = end;
    const deadline = performance.now() + this.#ackTimeoutMs;
    this.#deadlineEnds.push(end);
    this.#deadlines.push(deadline);
    if (this.#timer === undefined) this.#arm(deadline);
  }

  /**
   * The frame at `position` will never be written (refused, aborted while waiting for room):
   * it leaves the line, and its send, if it waits, rejects with `error`.
   *
   * @param position - the position the frame was added at, not yet written.
   * @param error - what its send rejects with.
   */
  cancel(position: number, error: unknown): void {
    if (this.#hasFailed || position < this.#head || position >= this.#end) return;
    const index = position & this.#mask;
    const entry = this.#entries[index]!;
    this.#entries[index] = 0;
    if (typeof entry === 'number') {
      this.#outstanding -= entry;
      return;
    }
    this.#outstanding--;
    rejectWith(entry, error);
    this.#notifySettled();
  }

  /**
   * The peer read `count` more of our data frames: settles the `count` oldest.
   *
   * @param count - the ACK's value.
   * @returns `undefined`, or what is wrong with the ACK (0, or more than are outstanding): a
   *   protocol error for the caller to end the connection with. Nothing is settled then.
   */
  acknowledge(count: number): AckViolation {
    if (count < 1) return `ACK 0 (an ACK counts at least one frame)`;
    if (count > this.#outstanding) {
      return `ACK ${count} for more data frames than were sent and not yet acknowledged (${this.#outstanding})`;
    }
    this.#outstanding -= count;
    const entries = this.#entries;
    const mask = this.#mask;
    let position = this.#head;
    let left = count;
    while (left > 0) {
      const index = position & mask;
      const entry = entries[index]!;
      if (typeof entry === 'number') {
        if (entry > left) {
          // Part of a run: the rest stays in line.
          entries[index] = entry - left;
          break;
        }
        left -= entry;
      } else {
        left--;
        entry();
      }
      entries[index] = 0;
      position++;
    }
    this.#head = position;
    // The open run was acknowledged whole: later unwaited frames start a new one.
    if (position === this.#end) this.#isRunOpen = false;
    this.#dropDeadlines();
    this.#notifySettled();
    return undefined;
  }

  /**
   * The connection ended: every send still waiting rejects with `error`, at once; later
   * `add()`s reject with it too. Idempotent (the first error stays).
   *
   * @param error - the connection's terminal error.
   */
  fail(error: unknown): void {
    if (this.#hasFailed) return;
    this.#hasFailed = true;
    this.#failure = error;
    this.#disarm();
    const entries = this.#entries;
    const mask = this.#mask;
    const end = this.#end;
    for (let position = this.#head; position < end; position++) {
      const entry = entries[position & mask]!;
      if (typeof entry !== 'number') rejectWith(entry, error);
    }
    this.#entries = [];
    this.#head = end;
    this.#outstanding = 0;
    this.#deadlineEnds = [];
    this.#deadlines = [];
    this.#deadlineHead = 0;
    this.#notifySettled();
  }

  /** Whether a send that waits for its ACK is still waiting at a position before `target`. */
  #isWaitingBefore(target: number): boolean {
    const entries = this.#entries;
    const mask = this.#mask;
    const end = Math.min(target, this.#end);
    for (let position = this.#head; position < end; position++) {
      if (typeof entries[position & mask] !== 'number') return true;
    }
    return false;
  }

  /** Tells the callers of {@link AckLedger.settled} whose sends all settled (after sends settled). */
  #notifySettled(): void {
    const waiters = this.#settledWaiters;
    if (waiters.length === 0) return;
    const done = this.#hasFailed ? waiters : waiters.filter((w) => !this.#isWaitingBefore(w.target));
    if (done.length === 0) return;
    this.#settledWaiters = this.#hasFailed ? [] : waiters.filter((w) => !done.includes(w));
    for (const waiter of done) waiter.resolve();
  }

  /** Appends an entry at position `#end`, doubling the ring when it is full. */
  #push(entry: Resolve | number): void {
    const end = this.#end;
    if (end - this.#head > this.#mask) this.#grow();
    this.#entries[end & this.#mask] = entry;
    this.#end = end + 1;
  }

  #grow(): void {
    const old = this.#entries;
    const oldMask = this.#mask;
    const mask = oldMask * 2 + 1;
    const entries = new Array<Resolve | number>(mask + 1).fill(0);
    for (let position = this.#head; position < this.#end; position++) {
      entries[position & mask] = old[position & oldMask]!;
    }
    this.#entries = entries;
    this.#mask = mask;
  }

  /** Forgets the deadlines of writes whose frames were all acknowledged. */
  #dropDeadlines(): void {
    const ends = this.#deadlineEnds;
    const acked = this.#head;
    let first = this.#deadlineHead;
    while (first < ends.length && ends[first]! <= acked) first++;
    if (first === ends.length) {
      if (first > 0) {
        this.#deadlineEnds = [];
        this.#deadlines = [];
        first = 0;
      }
    } else if (first > COMPACT_AFTER && first * 2 > ends.length) {
      this.#deadlineEnds = ends.slice(first);
      this.#deadlines = this.#deadlines.slice(first);
      first = 0;
    }
    this.#deadlineHead = first;
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

  // Writes happen in line order, so deadlines rise along the line: expire the writes whose
  // deadline has passed, oldest first, then arm for the next one counting down.
  #expire(): void {
    this.#dropDeadlines();
    const now = performance.now();
    const ends = this.#deadlineEnds;
    const deadlines = this.#deadlines;
    const entries = this.#entries;
    const mask = this.#mask;
    let first = this.#deadlineHead;
    for (; first < ends.length && deadlines[first]! <= now; first++) {
      const end = Math.min(ends[first]!, this.#end);
      for (let position = Math.max(this.#head, this.#expiredEnd); position < end; position++) {
        const index = position & mask;
        const entry = entries[index]!;
        if (typeof entry === 'number') continue;
        // Settled, still in line: a later ACK counts it and settles nothing.
        entries[index] = 1;
        rejectWith(entry, new RecipientAckTimeoutError(this.#ackTimeoutMs));
      }
      this.#expiredEnd = Math.max(this.#expiredEnd, ends[first]!);
    }
    this.#deadlineHead = first;
    if (first < ends.length) this.#arm(deadlines[first]!);
    this.#notifySettled();
  }
}
