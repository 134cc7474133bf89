import { IpcezError } from '@ipcez/framing';

/**
 * A listener refused a new connection: it already serves `maxConnections` connections. The
 * refused socket was closed at once, before anything of it was read (a WebSocket upgrade is
 * answered with HTTP 503); the listener's owner gets this error through the listen option
 * `onRefused`, and the listener keeps serving.
 *
 * @example
 * ```ts
 * const server = await listen(endpoint, { maxConnections: 100, onRefused: (e) => console.warn(e.code, e.limit) });
 * ```
 */
export class ConnectionLimitError extends IpcezError {
  /** Always `'IPCEZ_ERR_CONNECTION_LIMIT'`. */
  readonly code = 'IPCEZ_ERR_CONNECTION_LIMIT' as const;
  /** The `maxConnections` in force. */
  readonly limit: number;

  /**
   * @param endpoint - the listener's resolved endpoint.
   * @param limit - the `maxConnections` in force.
   */
  constructor(endpoint: string, limit: number) {
    super(`listener on ${endpoint} refused a connection: it already serves maxConnections ${limit} connections`);
    this.limit = limit;
  }
}

/**
 * An accepted connection was closed because its partial frame would have taken the memory
 * held in partial frames, across all the listener's connections, past `maxPartialBytes`. It
 * is that connection's one terminal error (its message handler gets it); its partial frame
 * is dropped and the memory returned to the listener's budget. The other connections go on.
 *
 * @example
 * ```ts
 * socket.messageHandler((r) => { if (!r.ok && r.error.code === 'IPCEZ_ERR_PARTIAL_FRAME_LIMIT') console.warn(r.error.message); });
 * ```
 */
export class PartialFrameLimitError extends IpcezError {
  /** Always `'IPCEZ_ERR_PARTIAL_FRAME_LIMIT'`. */
  readonly code = 'IPCEZ_ERR_PARTIAL_FRAME_LIMIT' as const;
  /** The `maxPartialBytes` in force. */
  readonly limit: number;
  /** Bytes this connection's partial frame asked to hold. */
  readonly requestedBytes: number;
  /** Bytes the listener's other partial frames held at that moment. */
  readonly heldBytes: number;

  /**
   * @param endpoint - the listener's resolved endpoint.
   * @param requestedBytes - what this connection's partial frame asked to hold.
   * @param heldBytes - what the other connections' partial frames held.
   * @param limit - the `maxPartialBytes` in force.
   */
  constructor(endpoint: string, requestedBytes: number, heldBytes: number, limit: number) {
    super(
      `connection to ${endpoint} closed: its partial frame needs ${requestedBytes} bytes while the listener's ` +
        `other partial frames hold ${heldBytes}, past maxPartialBytes ${limit}`,
    );
    this.limit = limit;
    this.requestedBytes = requestedBytes;
    this.heldBytes = heldBytes;
  }
}

/**
 * A byte-stream connection was closed because a frame the peer started was not completed in
 * time: `frameTimeoutMs` while this side was reading (time with reading paused on this side
 * does not count). The partial frame was discarded. The connection's one terminal error.
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_FRAME_TIMEOUT') console.warn(`peer stalled ${error.receivedBytes} bytes into a frame`);
 * ```
 */
export class FrameTimeoutError extends IpcezError {
  /** Always `'IPCEZ_ERR_FRAME_TIMEOUT'`. */
  readonly code = 'IPCEZ_ERR_FRAME_TIMEOUT' as const;
  /** The `frameTimeoutMs` in force. */
  readonly timeoutMs: number;
  /** Bytes of the partial frame (header included) that had arrived. */
  readonly receivedBytes: number;

  /**
   * @param endpoint - the resolved endpoint.
   * @param timeoutMs - the `frameTimeoutMs` in force.
   * @param receivedBytes - bytes of the partial frame received.
   */
  constructor(endpoint: string, timeoutMs: number, receivedBytes: number) {
    super(
      `connection to ${endpoint} closed: a frame was not completed within frameTimeoutMs ${timeoutMs} ` +
        `(${receivedBytes} bytes of it received, discarded)`,
    );
    this.timeoutMs = timeoutMs;
    this.receivedBytes = receivedBytes;
  }
}

/**
 * A connection was closed because no byte went either way for `idleTimeoutMs` (a listener
 * option, off by default). Its one terminal error.
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_IDLE_TIMEOUT') console.info(`dropped after ${error.timeoutMs} ms of silence`);
 * ```
 */
export class IdleTimeoutError extends IpcezError {
  /** Always `'IPCEZ_ERR_IDLE_TIMEOUT'`. */
  readonly code = 'IPCEZ_ERR_IDLE_TIMEOUT' as const;
  /** The `idleTimeoutMs` in force. */
  readonly timeoutMs: number;

  /**
   * @param endpoint - the resolved endpoint.
   * @param timeoutMs - the `idleTimeoutMs` in force.
   */
  constructor(endpoint: string, timeoutMs: number) {
    super(`connection to ${endpoint} closed: no byte either way for idleTimeoutMs ${timeoutMs}`);
    this.timeoutMs = timeoutMs;
  }
}
