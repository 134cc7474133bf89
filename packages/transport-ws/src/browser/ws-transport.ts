import type { Transport } from '@ipcez/core';
import type { WsConnectOptions, WsListenOptions } from '../options.js';
import { globalWebSocket } from './browser-web-socket.js';
import { connectWs } from './connect-ws.js';
import { listenWs } from './listen-ws.js';

/**
 * The `browser` export condition's `wsTransport`: supported where a global `WebSocket`
 * exists; `connect` is the browser `connectWs`, `listen` always rejects with
 * `UnsupportedPlatformError`.
 *
 * @example
 * ```ts
 * if (wsTransport.isSupported()) await wsTransport.connect('wss://example.com/ipc');
 * ```
 */
export const wsTransport: Transport<WsConnectOptions, WsListenOptions> = {
  kind: 'ws',
  isSupported: () => globalWebSocket() !== undefined,
  connect: connectWs,
  listen: listenWs,
};
