/**
 * Why reading is paused. Each holder makes its own reason (a `Symbol`), so a reason can be
 * released only by whoever set it.
 */
export type PauseReason = symbol;

/**
 * The one place that decides whether a connection reads from its transport: reading is
 * paused while at least one reason is held (the user's `pauseReading()`, a full inbox, a
 * decorator's backlog ...), and resumes when the last one is released. Holding a reason
 * twice is the same as holding it once.
 *
 * @example
 * ```ts
 * const authority = new PauseAuthority((paused) => (paused ? socket.pause() : socket.resume()));
 * const backlog = Symbol('ack backlog');
 * authority.hold(backlog);
 * authority.release(backlog);
 * ```
 */
export class PauseAuthority {
  readonly #reasons = new Set<PauseReason>();
  readonly #apply: (isPaused: boolean) => void;

  /** @param apply - called with `true` when the first reason is held, `false` when the last is released. */
  constructor(apply: (isPaused: boolean) => void) {
    this.#apply = apply;
  }

  /** Whether any reason is held. */
  get isPaused(): boolean {
    return this.#reasons.size > 0;
  }

  /**
   * Holds a reason.
   *
   * @param reason - the holder's own symbol.
   */
  hold(reason: PauseReason): void {
    if (this.#reasons.has(reason)) return;
    this.#reasons.add(reason);
    if (this.#reasons.size === 1) this.#apply(true);
  }

  /**
   * Releases a reason held before (nothing happens for one that is not held).
   *
   * @param reason - the symbol given to {@link PauseAuthority.hold}.
   */
  release(reason: PauseReason): void {
    if (!this.#reasons.delete(reason)) return;
    if (this.#reasons.size === 0) this.#apply(false);
  }
}
