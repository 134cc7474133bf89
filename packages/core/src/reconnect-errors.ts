import { IpcezError } from '@ipcez/framing';

/**
 * A reconnecting client gave up: the connection was lost and every reconnection attempt
 * failed (or one failed with an error that retrying cannot fix). It is the client's one
 * terminal error; the last attempt's failure is the `cause`.
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_RECONNECT_FAILED') console.error(`gave up after ${error.attempts} attempts`, error.cause);
 * ```
 */
export class ReconnectFailedError extends IpcezError {
  /** Always `'IPCEZ_ERR_RECONNECT_FAILED'`. */
  readonly code = 'IPCEZ_ERR_RECONNECT_FAILED' as const;
  /** How many reconnection attempts were made. */
  readonly attempts: number;

  /**
   * @param endpoint - the endpoint it tried to reach.
   * @param attempts - how many attempts were made.
   * @param cause - the last attempt's failure.
   */
  constructor(endpoint: string, attempts: number, cause: unknown) {
    super(
      `gave up reconnecting to ${endpoint} after ${attempts} attempt(s): ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.attempts = attempts;
  }
}

/**
 * A send took longer than its timeout: a send made while a reconnecting client was
 * disconnected (nothing was sent), or any send of a socket with `sendTimeoutMs` (waiting for
 * room, writing and the ack together; a send still waiting for room was withdrawn, one already
 * handed to the OS may still be delivered).
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_SEND_TIMEOUT') queueForLater(message);
 * ```
 */
export class SendTimeoutError extends IpcezError {
  /** Always `'IPCEZ_ERR_SEND_TIMEOUT'`. */
  readonly code = 'IPCEZ_ERR_SEND_TIMEOUT' as const;
  /** The timeout that elapsed, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * @param timeoutMs - the timeout that elapsed.
   * @param detail - what happened, for the message (default: the reconnecting client's case).
   */
  constructor(timeoutMs: number, detail = `not reconnected within ${timeoutMs} ms; the message was not sent`) {
    super(detail);
    this.timeoutMs = timeoutMs;
  }
}
