import type { IpcezError } from '@ipcez/core';

/**
 * What a {@link WsConnection} needs from a WebSocket implementation: the `ws` package in Node,
 * the global `WebSocket` in browsers. Module-private (not exported by the package).
 */
export interface SocketAdapter {
  /**
   * Hands binary messages (at least one), in order, to the socket, one WebSocket message
   * each. `done` is called exactly once, asynchronously: without an error when the last
   * byte was handed to the OS (Node) or left the browser's send buffer, with an error when
   * they never will be. Completions come in the order of the calls.
   */
  send(messages: readonly Uint8Array[], done: (error?: Error | null) => void): void;
  /** Starts the closing handshake. Queued messages are written before the close frame. */
  close(code: number, reason: string): void;
  /** Destroys the socket now. */
  terminate(): void;
  /** Stops reading from the socket (receive-side backpressure). */
  pause(): void;
  /** Reads from the socket again. */
  resume(): void;
}

/** What a {@link SocketAdapter} reports to its connection. */
export interface SocketSink {
  /** One whole received message (binary, or the UTF-8 bytes of a text message). */
  message(data: Uint8Array): void;
  /**
   * The connection is failing (protocol error, oversized message, keepalive timeout): the
   * terminal error is known now, the socket closes later and {@link closed} follows.
   */
  fail(error: IpcezError): void;
  /**
   * The socket is closed. `error` is the terminal error to use when none was set before
   * (by {@link fail}, `close()` or `destroy()`).
   */
  closed(error: IpcezError): void;
}
