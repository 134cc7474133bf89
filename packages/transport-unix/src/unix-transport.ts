import type { Transport } from '@ipcez/core';
import { connectUnix } from './connect-unix.js';
import { listenUnix } from './listen-unix.js';

/**
 * The Unix domain socket {@link Transport}: `connect` is {@link connectUnix}, `listen` is
 * {@link listenUnix}.
 *
 * **Platform behaviour.** `isSupported()` is `true` on every POSIX platform (Linux, macOS,
 * the BSDs) and `false` on Windows, where `connect`/`listen` reject with
 * `UnsupportedPlatformError` (`IPCEZ_ERR_UNSUPPORTED_PLATFORM`) when called. Importing the
 * package never throws.
 *
 * @example
 * ```ts
 * import { unixTransport } from '@ipcez/transport-unix';
 * if (unixTransport.isSupported()) {
 *   const listener = await unixTransport.listen('/tmp/app.sock');
 * }
 * ```
 */
export const unixTransport: Transport = {
  kind: 'unix',
  isSupported: (): boolean => process.platform !== 'win32',
  connect: connectUnix,
  listen: listenUnix,
};
