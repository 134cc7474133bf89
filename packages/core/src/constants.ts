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
 * Default time a byte-stream connection gives a frame the peer started to be completed, while
 * this side reads, before it gives up on the peer (`FrameTimeoutError`): 30 s. Time spent with
 * reading paused on this side does not count. Checked once per period, so a stalled frame is
 * dropped between one and two periods after its first byte.
 */
export const DEFAULT_FRAME_TIMEOUT_MS = 30_000;

/**
 * Default cap on the connections one listener serves at once (`maxConnections`): 1024. Each
 * connection may buffer up to its high-water mark each way (1 MiB by default) plus a partial
 * frame, so an unbounded count is an unbounded amount of memory that any local process (or,
 * for WebSocket, any client that reaches the port) can claim; 1024 is far above what a local
 * IPC server usually serves and is also the soft open-file limit most Linux shells start with.
 * Raise it (or pass `Infinity`) for servers that need more.
 */
export const DEFAULT_MAX_CONNECTIONS = 1024;

/**
 * Default cap on the memory held in partial frames across all the connections of one
 * byte-stream listener (`maxPartialBytes`): 64 MiB, 16 maximum-size frames in flight at once.
 * A connection whose partial frame would take the total past it is closed
 * (`PartialFrameLimitError`).
 */
export const DEFAULT_MAX_PARTIAL_BYTES: number = 64 * 1024 * 1024;
