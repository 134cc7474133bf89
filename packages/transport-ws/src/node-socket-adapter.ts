import type { Duplex } from 'node:stream';
import { ConnectionLostError, FrameTooLargeError, WsError } from '@ipcez/core';
import type { IpcezError, MessageSocket, MessageSocketSink } from '@ipcez/core';
import WebSocket from 'ws';

/** Settings of a {@link NodeSocketAdapter}. Module-private. */
export interface NodeSocketSettings {
  readonly endpoint: string;
  readonly maxMessageBytes: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveTimeoutMs: number;
}

const SEND_OPTIONS = { binary: true } as const;

/** Close codes ws uses for each receive-side protocol error (RFC 6455 §7.4.1). */
const CLOSE_CODE_OF: Readonly<Record<string, number>> = {
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
};

/** The close codes that mean "closed normally": no protocol failure to attach as a cause. */
const NORMAL_CLOSE_CODES = new Set([1000, 1001, 1005]);

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Adapts a `ws` WebSocket that is already open to the core's message link. The adapter
 * **owns** the WebSocket (and through it the socket). Keepalive lives here (Node can send
 * pings, browsers cannot), as a decorator of the link: it never pauses or buffers anything.
 * While reading is paused no pong can be read, so the keepalive is suspended then: a
 * paused reader is not a dead peer. Module-private.
 */
export class NodeSocketAdapter implements MessageSocket {
  readonly #ws: WebSocket;
  readonly #sink: MessageSocketSink;
  #isPaused = false;
  readonly #settings: NodeSocketSettings;
  #osError: Error | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #pongTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #socket: Duplex | undefined;

  /**
   * @param ws - an open WebSocket.
   * @param socket - its underlying socket, when known: its OS errors tell a reset apart.
   * @param sink - where to report.
   * @param settings - limits and keepalive.
   */
  constructor(ws: WebSocket, socket: Duplex | undefined, sink: MessageSocketSink, settings: NodeSocketSettings) {
    this.#ws = ws;
    this.#sink = sink;
    this.#settings = settings;
    this.#socket = socket;
    ws.binaryType = 'nodebuffer';
    ws.on('message', this.#onMessage);
    ws.on('pong', this.#onAlive);
    ws.on('ping', this.#onAlive);
    ws.on('error', this.#onError);
    ws.once('close', this.#onClose);
    // ws swallows the socket's own errors (ECONNRESET ...) and reports only close code 1006;
    // listening here keeps the OS error, so a reset is told apart from a clean peer close.
    socket?.on('error', this.#onSocketError);
    if (settings.keepaliveIntervalMs > 0) {
      this.#pingTimer = setInterval(this.#ping, settings.keepaliveIntervalMs);
      this.#pingTimer.unref();
    }
  }

  send(messages: readonly Uint8Array[], done: (error?: Error | null) => void): void {
    // One writev for the whole batch: ws otherwise writes each small message with its own
    // write(), one syscall each.
    const last = messages.length - 1;
    if (last === 0) {
      this.#ws.send(messages[0]!, SEND_OPTIONS, done);
      return;
    }
    const socket = this.#socket;
    socket?.cork();
    for (let i = 0; i < last; i++) this.#ws.send(messages[i]!, SEND_OPTIONS);
    this.#ws.send(messages[last]!, SEND_OPTIONS, done);
    socket?.uncork();
  }

  sendText(text: string): void {
    this.#ws.send(text);
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }

  terminate(): void {
    this.#ws.terminate();
  }

  pause(): void {
    this.#isPaused = true;
    this.#ws.pause();
    // A pong that arrives now cannot be read: stop waiting for one.
    this.#onAlive();
  }

  resume(): void {
    this.#isPaused = false;
    this.#ws.resume();
  }

  readonly #onMessage = (data: Buffer, isBinary: boolean): void => {
    this.#onAlive();
    // With binaryType 'nodebuffer' every message is one Buffer (fragments joined), binary or
    // not: a text message's Buffer holds its UTF-8 bytes (already validated by ws). Hand out a
    // plain Uint8Array view, no copy, so Node and browsers deliver the same type.
    this.#sink.message(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), !isBinary);
  };

  readonly #onAlive = (): void => {
    if (this.#pongTimer !== undefined) {
      clearTimeout(this.#pongTimer);
      this.#pongTimer = undefined;
    }
  };

  readonly #ping = (): void => {
    if (this.#pongTimer !== undefined || this.#isPaused || this.#ws.readyState !== WebSocket.OPEN) return;
    this.#pongTimer = setTimeout(this.#pongTimedOut, this.#settings.keepaliveTimeoutMs);
    this.#pongTimer.unref();
    this.#ws.ping();
  };

  readonly #pongTimedOut = (): void => {
    this.#pongTimer = undefined;
    this.#sink.fail(
      new ConnectionLostError(
        'keepalive-timeout',
        `the peer at ${this.#settings.endpoint} answered no keepalive ping within ${this.#settings.keepaliveTimeoutMs} ms`,
      ),
    );
    this.#ws.terminate();
  };

  readonly #onSocketError = (error: Error): void => {
    this.#osError ??= error;
  };

  readonly #onError = (error: Error): void => {
    this.#sink.fail(this.#classify(error));
  };

  readonly #onClose = (code: number, reason: Buffer): void => {
    this.#stopTimers();
    this.#ws.off('message', this.#onMessage);
    this.#ws.off('pong', this.#onAlive);
    this.#ws.off('ping', this.#onAlive);
    this.#socket?.off('error', this.#onSocketError);
    // The ws 'error' listener stays: ws may still emit a late error and must find a listener.
    const endpoint = this.#settings.endpoint;
    let error: IpcezError;
    let isClean = false;
    const osError = this.#osError;
    if (osError !== undefined && RESET_CODES.has(errorCode(osError) ?? '')) {
      error = new ConnectionLostError('reset', `connection to ${endpoint} was reset (${errorCode(osError)})`, {
        cause: osError,
      });
    } else {
      const text = reason.length > 0 ? `: ${reason.toString()}` : '';
      const detail = code === 1006 ? 'without a closing handshake' : `with code ${code}${text}`;
      // A closing handshake with a normal code is the only clean end; 1006 (the socket just
      // went away, possibly inside a message) and error codes are not.
      isClean = NORMAL_CLOSE_CODES.has(code);
      error = new ConnectionLostError('peer-closed', `the peer at ${endpoint} closed the connection ${detail}`, {
        cause: NORMAL_CLOSE_CODES.has(code)
          ? undefined
          : new WsError(`WebSocket closed with code ${code}${text}`, { closeCode: code }),
      });
    }
    this.#sink.closed(error, isClean);
  };

  #classify(error: Error): IpcezError {
    const code = errorCode(error);
    const endpoint = this.#settings.endpoint;
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      return new FrameTooLargeError(this.#announcedSize(), this.#settings.maxMessageBytes, 'announced');
    }
    if (code?.startsWith('WS_ERR_') === true) {
      return new WsError(`WebSocket protocol error from ${endpoint}: ${error.message}`, {
        closeCode: CLOSE_CODE_OF[code] ?? 1002,
        cause: error,
      });
    }
    return new ConnectionLostError('reset', `connection to ${endpoint} failed: ${error.message}`, { cause: error });
  }

  /**
   * The size the oversized message announced. ws does not put it on its error, so it is read
   * from the receiver's running total (a ws internal, read defensively); when unavailable the
   * smallest size over the limit is reported.
   */
  #announcedSize(): number {
    const receiver = (this.#ws as unknown as { _receiver?: { _totalPayloadLength?: unknown } })._receiver;
    const total = receiver?._totalPayloadLength;
    return typeof total === 'number' && total > this.#settings.maxMessageBytes
      ? total
      : this.#settings.maxMessageBytes + 1;
  }

  #stopTimers(): void {
    if (this.#pingTimer !== undefined) clearInterval(this.#pingTimer);
    if (this.#pongTimer !== undefined) clearTimeout(this.#pongTimer);
    this.#pingTimer = undefined;
    this.#pongTimer = undefined;
  }
}
