export { createStreamConnection, DEFAULT_CLOSE_TIMEOUT_MS } from './stream-connection.js';
export type { StreamConnection, StreamConnectionOptions } from './stream-connection.js';
