/**
 * The part of the WHATWG `WebSocket` the browser client uses, declared here because the
 * package compiles against Node's types. Module-private.
 */
export interface BrowserWebSocket {
  binaryType: 'blob' | 'arraybuffer';
  readonly bufferedAmount: number;
  readonly readyState: number;
  readonly protocol: string;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { readonly data: unknown }) => void): void;
  addEventListener(
    type: 'close',
    listener: (event: { readonly code: number; readonly reason: string; readonly wasClean: boolean }) => void,
  ): void;
  removeEventListener(type: string, listener: (...args: never[]) => void): void;
}

/** The global `WebSocket` constructor, if this runtime has one. Module-private. */
export type BrowserWebSocketConstructor = new (url: string, protocols?: string[]) => BrowserWebSocket;

/** The global `WebSocket`, or `undefined`. Module-private. */
export function globalWebSocket(): BrowserWebSocketConstructor | undefined {
  const candidate = (globalThis as { WebSocket?: unknown }).WebSocket;
  return typeof candidate === 'function' ? (candidate as BrowserWebSocketConstructor) : undefined;
}
