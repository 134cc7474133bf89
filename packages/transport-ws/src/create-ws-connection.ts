import { MessageConnection, MessageLink } from '@ipcez/core';
import type { Connection, MessageSocket, MessageSocketSink } from '@ipcez/core';

/** The settings a WebSocket connection is made with, already validated. Module-private. */
export interface WsConnectionSettings {
  readonly endpoint: string;
  readonly maxMessageBytes: number;
  readonly highWaterMark: number;
  readonly closeTimeoutMs: number;
  /** The peer's IP address, where the socket has one (Node). */
  readonly remoteAddress?: string | undefined;
  /** The subprotocol the opening handshake agreed on (`''` for none). */
  readonly subprotocol?: string;
}

/** The subprotocol of ipcez's protocol v2 over WebSocket (docs/PROTOCOL.md §5.6). */
const V2_SUBPROTOCOL = 'ipcez.v2';

const subprotocols = new WeakMap<Connection, string>();

/**
 * The subprotocol a WebSocket connection's opening handshake agreed on: one of the client's
 * `subprotocols` that the listener also lists (see `WsConnectOptions.subprotocols` and
 * `WsListenOptions.subprotocols`), or `''` when none was (or for a connection that is not a
 * WebSocket one).
 *
 * @param connection - a connection from `connectWs` or a `listenWs` listener.
 * @returns the agreed subprotocol, or `''`.
 * @example
 * ```ts fragment
 * const connection = await connectWs('ws://127.0.0.1:8080/ipc', { subprotocols: ['chat.v1'] });
 * console.log(wsSubprotocol(connection)); // 'chat.v1'
 * ```
 */
export function wsSubprotocol(connection: Connection): string {
  return subprotocols.get(connection) ?? '';
}

/**
 * One ipcez connection over an open WebSocket: the core's message-connection engine over
 * the message link, the socket (Node's `ws` or the browser's `WebSocket`) behind `attach`.
 * The connection **owns** the socket. Module-private.
 *
 * @param settings - validated settings.
 * @param attach - builds the socket adapter over the open socket, reporting to the sink.
 * @returns the connection.
 */
export function createWsConnection(
  settings: WsConnectionSettings,
  attach: (sink: MessageSocketSink) => MessageSocket,
): MessageConnection {
  // On ipcez.v2 every text message is control (docs/PROTOCOL.md §5.6), even before the
  // negotiation has set its handler.
  const isTextControl = settings.subprotocol === V2_SUBPROTOCOL;
  const link = new MessageLink(attach, { closeTimeoutMs: settings.closeTimeoutMs, isTextControl });
  const connection = new MessageConnection(link, {
    transport: 'ws',
    endpoint: settings.endpoint,
    maxMessageBytes: settings.maxMessageBytes,
    highWaterMark: settings.highWaterMark,
    closeTimeoutMs: settings.closeTimeoutMs,
    remoteAddress: settings.remoteAddress,
  });
  if (settings.subprotocol !== undefined && settings.subprotocol !== '') {
    subprotocols.set(connection, settings.subprotocol);
  }
  return connection;
}
