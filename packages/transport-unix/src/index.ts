export { unixTransport } from './unix-transport.js';
export { connectUnix } from './connect-unix.js';
export { listenUnix } from './listen-unix.js';
export type { UnixListenOptions } from './listen-unix.js';
export {
  resolveUnixEndpoint,
  sunPathBytes,
  LINUX_SUN_PATH_BYTES,
  BSD_SUN_PATH_BYTES,
} from './resolve-unix-endpoint.js';
export type { ResolvedUnixEndpoint, ResolveUnixEndpointOptions } from './resolve-unix-endpoint.js';
