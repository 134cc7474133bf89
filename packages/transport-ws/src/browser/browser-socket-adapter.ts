import { ConnectionLostError, FrameTooLargeError, WsError } from '@ipcez/core';
import type { MessageSocket, MessageSocketSink } from '@ipcez/core';
import type { BrowserWebSocket } from './browser-web-socket.js';

/** Settings of a {@link BrowserSocketAdapter}. Module-private. */
export interface BrowserSocketSettings {
  readonly endpoint: string;
  readonly maxMessageBytes: number;
}

/**
 * Close code for an incoming message over the limit. RFC 6455 has 1009 for it, but a page may
 * only send 1000 or 3000–4999 (WHATWG WebSockets, `close()` step 1), so the application range
 * mirrors it.
 */
const BROWSER_MESSAGE_TOO_BIG = 4009;

/** How often the send buffer is checked while sends are in flight, in milliseconds. */
const FLUSH_POLL_MS = 4;

const NORMAL_CLOSE_CODES = new Set([1000, 1001, 1005]);

interface PendingFlush {
  /** Total bytes sent once this message is out of the browser's buffer. */
  readonly end: number;
  readonly done: (error?: Error | null) => void;
}

/**
 * Adapts the browser's `WebSocket`, already open. It **owns** the WebSocket.
 *
 * A browser gives no write callback and no pause: a send counts as handed over once the
 * socket's `bufferedAmount` shows its bytes left the browser's buffer (checked on a short
 * timer while sends are in flight), and reading cannot be paused, so `pause()`/`resume()` do
 * nothing. Module-private.
 */
export class BrowserSocketAdapter implements MessageSocket {
  readonly #ws: BrowserWebSocket;
  readonly #sink: MessageSocketSink;
  readonly #settings: BrowserSocketSettings;
  #sentBytes = 0;
  #pending: PendingFlush[] = [];
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #isClosed = false;
  #encoder: InstanceType<typeof TextEncoder> | undefined;

  /**
   * @param ws - an open WebSocket.
   * @param sink - where to report.
   * @param settings - limit and endpoint.
   */
  constructor(ws: BrowserWebSocket, sink: MessageSocketSink, settings: BrowserSocketSettings) {
    this.#ws = ws;
    this.#sink = sink;
    this.#settings = settings;
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('message', this.#onMessage);
    ws.addEventListener('close', this.#onClose);
  }

  send(messages: readonly Uint8Array[], done: (error?: Error | null) => void): void {
    try {
      for (const message of messages) {
        this.#ws.send(message);
        this.#sentBytes += message.byteLength;
      }
    } catch (error) {
      queueMicrotask(() => {
        done(error as Error);
      });
      return;
    }
    this.#pending.push({ end: this.#sentBytes, done });
    this.#pollTimer ??= setTimeout(this.#poll, 0);
  }

  sendText(text: string): void {
    try {
      this.#ws.send(text);
    } catch {
      // The socket is closing: its close event reports the end.
    }
  }

  close(code: number, reason: string): void {
    // A page may close only with 1000 or 3000–4999: other codes are mirrored into the
    // application range (1002, a protocol error, is sent as 4002), as BROWSER_MESSAGE_TOO_BIG is.
    this.#ws.close(code === 1000 || (code >= 3000 && code <= 4999) ? code : 4000 + (code % 1000), reason);
  }

  terminate(): void {
    // Browsers cannot abort a WebSocket: start the close and stop reporting sends.
    this.#ws.close(1000, '');
  }

  pause(): void {
    // Not possible with the WHATWG WebSocket.
  }

  resume(): void {
    // Not possible with the WHATWG WebSocket.
  }

  readonly #poll = (): void => {
    this.#pollTimer = undefined;
    const flushed = this.#sentBytes - this.#ws.bufferedAmount;
    let head = 0;
    while (head < this.#pending.length && this.#pending[head]!.end <= flushed) {
      this.#pending[head]!.done();
      head++;
    }
    this.#pending = head === this.#pending.length ? [] : this.#pending.slice(head);
    if (this.#pending.length > 0 && !this.#isClosed) this.#pollTimer ??= setTimeout(this.#poll, FLUSH_POLL_MS);
  };

  readonly #onMessage = (event: { readonly data: unknown }): void => {
    const { data } = event;
    let bytes: Uint8Array;
    const isText = typeof data === 'string';
    if (isText) {
      this.#encoder ??= new TextEncoder();
      bytes = this.#encoder.encode(data);
    } else {
      bytes = new Uint8Array(data as ArrayBuffer);
    }
    if (bytes.byteLength > this.#settings.maxMessageBytes) {
      // The browser already received it whole; enforcing the limit still ends the connection.
      this.#sink.fail(new FrameTooLargeError(bytes.byteLength, this.#settings.maxMessageBytes, 'announced'));
      this.#ws.close(BROWSER_MESSAGE_TOO_BIG, 'message too big');
      return;
    }
    this.#sink.message(bytes, isText);
  };

  readonly #onClose = (event: { readonly code: number; readonly reason: string; readonly wasClean: boolean }): void => {
    this.#isClosed = true;
    if (this.#pollTimer !== undefined) clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    this.#ws.removeEventListener('message', this.#onMessage);
    this.#ws.removeEventListener('close', this.#onClose);
    const { code, reason } = event;
    const pending = this.#pending;
    this.#pending = [];
    const lost = new Error(`WebSocket closed with code ${code}`);
    for (const entry of pending) entry.done(lost);
    const text = reason === '' ? '' : `: ${reason}`;
    const detail = event.wasClean ? `with code ${code}${text}` : 'without a closing handshake';
    this.#sink.closed(
      new ConnectionLostError('peer-closed', `the peer at ${this.#settings.endpoint} closed the connection ${detail}`, {
        cause: NORMAL_CLOSE_CODES.has(code)
          ? undefined
          : new WsError(`WebSocket closed with code ${code}${text}`, { closeCode: code }),
      }),
      event.wasClean && NORMAL_CLOSE_CODES.has(code),
    );
  };
}
