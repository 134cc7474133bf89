export { MAX_PIPE_NAME_LENGTH, PIPE_PREFIX, resolvePipeName } from './resolve-pipe-name.js';
