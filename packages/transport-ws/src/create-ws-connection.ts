import { MessageConnection, MessageLink } from '@ipcez/core';
import type { MessageSocket, MessageSocketSink } from '@ipcez/core';

/** The settings a WebSocket connection is made with, already validated. Module-private. */
export interface WsConnectionSettings {
  readonly endpoint: string;
  readonly maxMessageBytes: number;
  readonly highWaterMark: number;
  readonly closeTimeoutMs: number;
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
  return new MessageConnection(new MessageLink(attach, { closeTimeoutMs: settings.closeTimeoutMs }), {
    transport: 'ws',
    endpoint: settings.endpoint,
    maxMessageBytes: settings.maxMessageBytes,
    highWaterMark: settings.highWaterMark,
    closeTimeoutMs: settings.closeTimeoutMs,
  });
}
