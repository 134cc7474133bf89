/**
 * The one set of defaults every ipcez connection uses, whatever its transport.
 *
 * @example
 * ```ts
 * import { DEFAULT_CLOSE_TIMEOUT_MS } from '@ipcez/core';
 * const closeTimeoutMs = DEFAULT_CLOSE_TIMEOUT_MS * 2;
 * ```
 */

/** Default high-water mark of queued send bytes, and of buffered received bytes: 1 MiB. */
export const DEFAULT_HIGH_WATER_MARK: number = 1024 * 1024;

/**
 * Default time a graceful `close()` may take (flushing queued sends, then the peer's end or
 * closing handshake) before it turns into `destroy()`: 5 s, on every transport.
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5000;

/**
 * Default time a byte-stream connection waits, inside a frame, for the next byte of that
 * frame before it gives up on the peer (`ConnectionLostError('frame-timeout')`): 30 s. Time
 * spent with reading paused on this side does not count.
 */
export const DEFAULT_FRAME_TIMEOUT_MS = 30_000;
