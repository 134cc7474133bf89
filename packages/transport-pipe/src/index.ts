export { connectPipe } from './connect-pipe.js';
export { listenPipe } from './listen-pipe.js';
export type { PipeConnectOptions, PipeListenOptions } from './pipe-options.js';
export { pipeTransport } from './pipe-transport.js';
export { isPipeSupported } from './platform.js';
export { MAX_PIPE_NAME_LENGTH, PIPE_PREFIX, resolvePipeName } from './resolve-pipe-name.js';
