import { UnsupportedPlatformError } from '@ipcez/core';
import type { Listener } from '@ipcez/core';
import type { WsListenOptions } from '../options.js';

/**
 * The `browser` export condition's `listenWs`: a page cannot accept WebSocket connections,
 * so it always rejects. Same signature as the Node build, so code shared between the two
 * type-checks once.
 *
 * @param endpoint - ignored.
 * @param options - ignored.
 * @returns a promise that rejects.
 * @throws (rejects) UnsupportedPlatformError (`IPCEZ_ERR_UNSUPPORTED_PLATFORM`), always.
 * @example
 * ```ts
 * await listenWs('ws://127.0.0.1:0/x'); // rejects in a browser
 * ```
 */
export function listenWs(endpoint: string, options?: WsListenOptions): Promise<Listener> {
  return Promise.reject(
    new UnsupportedPlatformError(`WebSocket listeners (${endpoint}${options ? ', with options' : ''})`, 'browsers'),
  );
}
