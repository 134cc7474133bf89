import type { Transport } from '@ipcez/core';
import { connectWs } from './connect-ws.js';
import { listenWs } from './listen-ws.js';
import type { WsConnectOptions, WsListenOptions } from './options.js';

/**
 * The WebSocket transport as a `Transport` value, for code that picks a transport at run
 * time (the `ipcez` facade does): `connect` is {@link connectWs}, `listen` is {@link listenWs}.
 *
 * **Platform behaviour.** `isSupported()` is `true` in Node; in a browser (the `browser`
 * export condition) it is `true` when a global `WebSocket` exists, and `listen` rejects
 * with `UnsupportedPlatformError`.
 *
 * @example
 * ```ts
 * if (wsTransport.isSupported()) {
 *   const connection = await wsTransport.connect('ws://127.0.0.1:8080/ipc');
 * }
 * ```
 */
export const wsTransport: Transport<WsConnectOptions, WsListenOptions> = {
  kind: 'ws',
  isSupported: () => true,
  connect: connectWs,
  listen: listenWs,
};
