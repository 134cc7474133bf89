import type { Transport } from '@ipcez/core';

import { connectPipe } from './connect-pipe.js';
import { listenPipe } from './listen-pipe.js';
import { isPipeSupported } from './platform.js';

/**
 * The Windows named-pipe {@link Transport}: `kind: 'pipe'`, `isSupported()` (Windows only),
 * `connect` = {@link connectPipe}, `listen` = {@link listenPipe}. Importing it has no side
 * effects on any platform; using it outside Windows rejects with `UnsupportedPlatformError`.
 *
 * @example
 * ```ts
 * if (pipeTransport.isSupported()) {
 *   const listener = await pipeTransport.listen('my-app');
 *   const client = await pipeTransport.connect('my-app');
 * }
 * ```
 */
export const pipeTransport: Transport = Object.freeze({
  kind: 'pipe',
  isSupported: isPipeSupported,
  connect: connectPipe,
  listen: listenPipe,
});
