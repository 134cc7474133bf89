export { connectWs, isSubprotocolRefused } from './connect-ws.js';
export { listenWs } from './listen-ws.js';
export { wsTransport } from './ws-transport.js';
export { wsSubprotocol } from '../create-ws-connection.js';
export { DEFAULT_KEEPALIVE_INTERVAL_MS, DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS } from '../options.js';
export type {
  WsConnectOptions,
  WsListenOptions,
  WsConnectionOptions,
  WsUpgradeRequest,
  TlsMaterial,
} from '../options.js';
