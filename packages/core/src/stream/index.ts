export { createStreamConnection } from './stream-connection.js';
export type { StreamConnection, StreamConnectionOptions } from './stream-connection.js';
export { StreamLink } from './stream-link.js';
export type { StreamLinkSettings } from './stream-link.js';
export { openSocket, destroySocket, probeEndpoint, closeServer, listenServer } from './socket.js';
export { startStreamListener } from './stream-listener.js';
export type { StreamListenerSettings } from './stream-listener.js';
export type { ProbeResult } from './socket.js';
export { DEFAULT_CLOSE_TIMEOUT_MS } from '../constants.js';
