// One named signal shared by every SignalPair of this process that uses the name, and one
// native wait for the whole process, however many signals have waiters: the libuv pool (4
// threads by default) also serves fs, dns, crypto and zlib, so ack waits may never hold more
// than one of its threads. Internal: not exported from the package.
import { addAbortListener } from 'node:events';
import { RecipientAckTimeoutError } from '@ipcez/core';
import type { AckBackend, NativeSignal, OpenMode, SliceResult } from './ack-backend.js';

// The process's one native wait runs on a libuv pool thread for at most this long, then returns
// to the event loop and is re-armed (on the next signal with waiters, round robin) if someone
// still waits. It bounds how long close() waits for the thread; it adds no latency to the signal
// it waits on, because a post wakes the native wait at once.
const SLICE_MS = 100;

// While more than one signal has waiters, those the native wait is not on are polled from the
// event loop (a non-blocking take) this often: the latency an ack to them may see.
const POLL_MS = 1;

interface Waiter {
  readonly owner: object;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

// identity (see NativeSignal.identity) -> the one SharedSignal of this process for that OS
// object. Keyed by the object, not the name: after another process unlinks and recreates a
// name, a new open here reaches the new object, while older holders keep the old one.
const registry = new Map<string, SharedSignal>();

// The process-wide wait scheduler:
//
//   waiting: signals with at least one waiter, in the order they started waiting
//   slice:   the one signal whose native wait is in flight (or none)
//   poll:    a timer, armed while a signal waits that the slice is not on
//
// When the slice returns, its signal is handled and the slice moves to the next waiting
// signal (round robin), so none is only ever polled.
const waiting = new Set<SharedSignal>();
let slice: SharedSignal | undefined;
let poll: ReturnType<typeof setInterval> | undefined;

function schedule(): void {
  if (slice === undefined) {
    const next = waiting.values().next();
    if (next.done !== true) {
      slice = next.value;
      // Round robin: the signal the slice is on goes to the back of the line.
      waiting.delete(slice);
      waiting.add(slice);
      slice.startSlice();
    }
  }
  const needsPoll = waiting.size > 1 || (waiting.size === 1 && (slice === undefined || !waiting.has(slice)));
  if (needsPoll && poll === undefined) {
    poll = setInterval(pollOthers, POLL_MS);
    // The waiters' own timeout timers keep the process alive while anyone waits.
    poll.unref();
  } else if (!needsPoll && poll !== undefined) {
    clearInterval(poll);
    poll = undefined;
  }
}

function pollOthers(): void {
  for (const signal of [...waiting]) if (signal !== slice) signal.drain();
  schedule();
}

// Lifecycle of one shared signal:
//
//   open (refs > 0) --last release()--> draining (its slice in flight) --slice returns--> closed
//        \____________________________ no slice in flight _______________________________/
//
// The native handle is closed only when no slice is in flight on it, so a pool thread never
// waits on a closed semaphore or event.
export class SharedSignal {
  readonly #native: NativeSignal;
  #refs = 1;
  readonly #waiters = new Set<Waiter>();
  #isSliceInFlight = false;
  #onIdle: (() => void) | undefined;
  #isClosed = false;

  private constructor(native: NativeSignal) {
    this.#native = native;
  }

  /**
   * Returns this process's shared signal for `name`, opening it. `fresh` unlinks the name
   * first where the backend can (POSIX), so the new signal starts at zero; where it cannot
   * (Windows events), the signal is drained.
   */
  static acquire(backend: AckBackend, name: string, mode: OpenMode): SharedSignal {
    if (mode === 'fresh' && backend.canUnlink) backend.unlink(name);
    const native = backend.open(name, mode);
    const existing = registry.get(native.identity);
    if (existing === undefined) {
      const shared = new SharedSignal(native);
      registry.set(native.identity, shared);
      return shared;
    }
    // Same OS object as a signal this process already holds: share it (one native wait per
    // signal) and drop the extra handle (glibc counts opens of one mapping).
    native.close();
    existing.#refs++;
    if (mode === 'fresh') existing.#native.tryTake();
    return existing;
  }

  /** The OS name in use (on Windows, `Local\` after a fallback). */
  get nativeName(): string {
    return this.#native.name;
  }

  post(): void {
    this.#native.post();
  }

  tryTake(): boolean {
    return this.#native.tryTake();
  }

  /**
   * Waits for one token, handed to waiters oldest first. Rejects with
   * RecipientAckTimeoutError after `timeoutMs` (a libuv timer, on the monotonic clock), or
   * with `signal.reason` on abort.
   */
  async wait(owner: object, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    // Fast path, only when nobody is queued, so tokens still go to the oldest waiter first.
    if (this.#waiters.size === 0 && this.#native.tryTake()) return;
    await new Promise<void>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        abortListener?.[Symbol.dispose]();
        this.#waiters.delete(waiter);
        if (this.#waiters.size === 0 && waiting.delete(this)) schedule();
      };
      const waiter: Waiter = {
        owner,
        resolve: () => {
          settle();
          resolve();
        },
        reject: (error: Error) => {
          settle();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        waiter.reject(new RecipientAckTimeoutError(timeoutMs));
      }, timeoutMs);
      const abortListener =
        signal === undefined
          ? undefined
          : addAbortListener(signal, () => {
              waiter.reject(signal.reason as Error);
            });
      this.#waiters.add(waiter);
      waiting.add(this);
      schedule();
    });
  }

  /** Rejects `owner`'s waiters with `error` and drops one reference; the last one closes. */
  release(owner: object, error: Error): Promise<void> {
    for (const waiter of [...this.#waiters]) if (waiter.owner === owner) waiter.reject(error);
    this.#refs--;
    if (this.#refs > 0) return Promise.resolve();
    if (registry.get(this.#native.identity) === this) registry.delete(this.#native.identity);
    if (!this.#isSliceInFlight) {
      this.#close();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.#onIdle = resolve;
    });
  }

  #close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#native.close();
  }

  /** Hands tokens that are there now to the oldest waiters, without blocking. */
  drain(): void {
    while (this.#waiters.size > 0 && this.#refs > 0) {
      const oldest = this.#waiters.values().next();
      if (oldest.done === true || !this.#native.tryTake()) return;
      oldest.value.resolve();
    }
  }

  /** Arms the process's one native wait on this signal (called by the scheduler only). */
  startSlice(): void {
    this.#isSliceInFlight = true;
    this.#native.waitSlice(SLICE_MS, (result) => {
      this.#afterSlice(result);
    });
  }

  #afterSlice(result: SliceResult): void {
    this.#isSliceInFlight = false;
    slice = undefined;
    if (result.error !== undefined) {
      for (const waiter of [...this.#waiters]) waiter.reject(result.error);
    } else if (result.acquired) {
      const oldest = this.#waiters.values().next();
      if (oldest.done === true) {
        // Everyone timed out or aborted while the slice ran: give the token back, so the
        // endpoint's count stays exact for the next waiter (here or in another process).
        this.#native.post();
      } else {
        oldest.value.resolve();
      }
    }
    if (this.#refs === 0) {
      this.#close();
      const onIdle = this.#onIdle;
      this.#onIdle = undefined;
      onIdle?.();
    }
    schedule();
  }
}
