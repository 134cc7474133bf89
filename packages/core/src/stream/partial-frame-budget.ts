import { integerOption } from '../options.js';

/**
 * The memory that partial frames may hold across many byte-stream links together: one per
 * listener, shared by every {@link StreamLink} it accepted (`maxPartialBytes`). Each link
 * reports what its decoder reserves for its incomplete frame after every read; a link whose
 * reservation would take the total past the limit ends (`PartialFrameLimitError`) and gives
 * its reservation back, as does every link when its frame completes or it ends.
 *
 * Reservations are made after the decoder has grown (a read cannot be un-read), so the total
 * can pass the limit by one decoder's growth (at most `maxMessageBytes`) for the moment it
 * takes that link to end; it never stays past it.
 *
 * @example
 * ```ts
 * const budget = new PartialFrameBudget(64 * 1024 * 1024);
 * const link = new StreamLink(socket, { endpoint, maxMessageBytes, partialFrameBudget: budget });
 * ```
 */
export class PartialFrameBudget {
  /** The cap, in bytes (`Infinity`: none). */
  readonly limit: number;
  #held = 0;

  /**
   * @param limit - the cap in bytes: a positive integer, or `Infinity`.
   * @throws TypeError / RangeError (`IPCEZ_ERR_INVALID_ARG`) otherwise.
   */
  constructor(limit: number) {
    this.limit =
      limit === Number.POSITIVE_INFINITY ? limit : (integerOption(limit, 'limit', 1, Number.MAX_SAFE_INTEGER) ?? 0);
  }

  /** Bytes reserved right now, all holders together. */
  get heldBytes(): number {
    return this.#held;
  }

  /**
   * Moves one holder's reservation from `from` bytes (what it held) to `to` bytes. Shrinking
   * always succeeds; growing fails, changing nothing, when the total would pass the limit.
   *
   * @param from - the holder's current reservation.
   * @param to - the reservation it needs now.
   * @returns whether the new reservation is in force.
   */
  resize(from: number, to: number): boolean {
    const next = this.#held - from + to;
    if (to > from && next > this.limit) return false;
    this.#held = next;
    return true;
  }
}
