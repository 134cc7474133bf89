// One named signal shared by every SignalPair of this process that uses the name, so there is
// at most one outstanding native wait per named signal per process however many sends wait
// (DESIGN.md: no libuv pool thread per waiting send). Internal: not exported from the package.
import { addAbortListener } from 'node:events';
import { RecipientAckTimeoutError } from '@ipcez/core';
import type { AckBackend, NativeSignal, OpenMode, SliceResult } from './ack-backend.js';

// A native wait runs on a libuv pool thread for at most this long, then returns to the event
// loop and is re-armed if someone still waits. It bounds how long close() waits for the
// thread; it adds no latency, because a post wakes the native wait at once.
const SLICE_MS = 100;

interface Waiter {
  readonly owner: object;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

// identity (see NativeSignal.identity) -> the one SharedSignal of this process for that OS
// object. Keyed by the object, not the name: after another process unlinks and recreates a
// name, a new open here reaches the new object, while older holders keep the old one.
const registry = new Map<string, SharedSignal>();

// Lifecycle of one shared signal:
//
//   open (refs > 0) --last release()--> draining (slice outstanding) --slice returns--> closed
//        \____________________________ no slice outstanding ____________________________/
//
// The native handle is closed only when no slice is outstanding, so a pool thread never
// waits on a closed semaphore or event.
export class SharedSignal {
  readonly #native: NativeSignal;
  #refs = 1;
  readonly #waiters = new Set<Waiter>();
  #isSliceOutstanding = false;
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
      this.#pump();
    });
  }

  /** Rejects `owner`'s waiters with `error` and drops one reference; the last one closes. */
  release(owner: object, error: Error): Promise<void> {
    for (const waiter of [...this.#waiters]) if (waiter.owner === owner) waiter.reject(error);
    this.#refs--;
    if (this.#refs > 0) return Promise.resolve();
    if (registry.get(this.#native.identity) === this) registry.delete(this.#native.identity);
    if (!this.#isSliceOutstanding) {
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

  #pump(): void {
    if (this.#isSliceOutstanding || this.#waiters.size === 0 || this.#refs === 0) return;
    this.#isSliceOutstanding = true;
    this.#native.waitSlice(SLICE_MS, (result) => {
      this.#afterSlice(result);
    });
  }

  #afterSlice(result: SliceResult): void {
    this.#isSliceOutstanding = false;
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
      return;
    }
    this.#pump();
  }
}
