import { IpcezError } from '@ipcez/framing';
import type { FrameTooLargeError } from '@ipcez/framing';
import type { ReconnectFailedError, SendTimeoutError } from './reconnect-errors.js';
import type {
  ConnectionLimitError,
  FrameTimeoutError,
  IdleTimeoutError,
  PartialFrameLimitError,
} from './limit-errors.js';

/**
 * Every error code ipcez produces, in one list. Codes are API: match on them, not on
 * `instanceof` or messages. `IPCEZ_ERR_INVALID_ARG` is not in this list: it is the `code`
 * of the `TypeError`/`RangeError` thrown synchronously for programmer errors.
 */
export const IPCEZ_ERROR_CODES = [
  'IPCEZ_ERR_IO',
  'IPCEZ_ERR_CONNECTION_LOST',
  'IPCEZ_ERR_WS',
  'IPCEZ_ERR_FRAME_TOO_LARGE',
  'IPCEZ_ERR_DETECTION',
  'IPCEZ_ERR_UNSUPPORTED_COMBINATION',
  'IPCEZ_ERR_ACK_TIMEOUT',
  'IPCEZ_ERR_ENDPOINT_IN_USE',
  'IPCEZ_ERR_UNSUPPORTED_PLATFORM',
  'IPCEZ_ERR_INVALID_ENDPOINT',
  'IPCEZ_ERR_SEND_BUFFER_FULL',
  'IPCEZ_ERR_ACK_UNAVAILABLE',
  'IPCEZ_ERR_RECONNECT_FAILED',
  'IPCEZ_ERR_SEND_TIMEOUT',
  'IPCEZ_ERR_PROTOCOL',
  'IPCEZ_ERR_CONNECTION_LIMIT',
  'IPCEZ_ERR_PARTIAL_FRAME_LIMIT',
  'IPCEZ_ERR_FRAME_TIMEOUT',
  'IPCEZ_ERR_IDLE_TIMEOUT',
] as const;

/** The union of every ipcez error code (see {@link IPCEZ_ERROR_CODES}). */
export type IpcezErrorCode = (typeof IPCEZ_ERROR_CODES)[number];

/** The OS error fields Node puts on a system error (`ErrnoException`), read structurally. */
interface SystemErrorLike {
  readonly errno?: unknown;
  readonly code?: unknown;
  readonly syscall?: unknown;
  readonly path?: unknown;
  /** Node puts the socket path of a failed `connect` here, not in `path`. */
  readonly address?: unknown;
}

function field<T extends 'number' | 'string'>(
  source: unknown,
  key: keyof SystemErrorLike,
  type: T,
): (T extends 'number' ? number : string) | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  const value = (source as SystemErrorLike)[key];
  // The conditional type cannot be narrowed by typeof; the check above makes the cast exact.
  return typeof value === type ? (value as T extends 'number' ? number : string) : undefined;
}

/** Options of {@link IoError} and {@link ConnectionLostError}. */
export interface IoErrorOptions {
  /** The OS error (a Node system error), or another underlying error. */
  readonly cause?: unknown;
  /** The resolved endpoint path involved, when the OS error does not carry one. */
  readonly path?: string;
}

/**
 * An OS-level failure: connection refused, no such socket, permission denied, a reset.
 * The OS error is the `cause`; `errno`, `osCode`, `syscall` and `path` are lifted from it.
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_IO' && error.osCode === 'ECONNREFUSED') startServer();
 * ```
 */
export class IoError extends IpcezError {
  /** `'IPCEZ_ERR_IO'`, or `'IPCEZ_ERR_CONNECTION_LOST'` for the subclass. */
  readonly code: 'IPCEZ_ERR_IO' | 'IPCEZ_ERR_CONNECTION_LOST' = 'IPCEZ_ERR_IO';
  readonly #path: string | undefined;

  /**
   * @param message - what failed, naming the resolved endpoint.
   * @param options - {@link IoErrorOptions}.
   */
  constructor(message: string, options: IoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.#path = options.path;
  }

  /** The OS error number (negative libuv errno in Node), when the cause has one. */
  get errno(): number | undefined {
    return field(this.cause, 'errno', 'number');
  }

  /** The OS error code string (`'ECONNREFUSED'`, `'ENOENT'`, `'EACCES'` ...), when known. */
  get osCode(): string | undefined {
    return field(this.cause, 'code', 'string');
  }

  /** The failing system call (`'connect'`, `'bind'` ...), when known. */
  get syscall(): string | undefined {
    return field(this.cause, 'syscall', 'string');
  }

  /** The path involved: the one given, else the cause's `path` (or, for `connect`, `address`). */
  get path(): string | undefined {
    return this.#path ?? field(this.cause, 'path', 'string') ?? field(this.cause, 'address', 'string');
  }
}

/**
 * Why a connection ended:
 * - `'peer-closed'`: the peer closed or went away (including being killed);
 * - `'reset'`: the OS reported a reset or broken pipe;
 * - `'local-close'`: `close()`/`disconnect()`/`destroy()` was called on this side;
 * - `'keepalive-timeout'`: the peer stopped answering keepalive pings;
 * - `'aborted'`: an `AbortSignal` ended it.
 *
 * (A peer that stalls inside a frame ends the connection with `FrameTimeoutError`, a silent
 * one with `IdleTimeoutError`.)
 */
export type ConnectionLostReason = 'peer-closed' | 'reset' | 'local-close' | 'keepalive-timeout' | 'aborted';

/**
 * The connection is gone: the peer went away, or `disconnect()`/`close()` was called. Sends
 * after it reject with it; message handlers get it as their one terminal result.
 *
 * @example
 * ```ts
 * socket.messageHandler((r) => { if (!r.ok && r.error.code === 'IPCEZ_ERR_CONNECTION_LOST') reconnect(); });
 * ```
 */
export class ConnectionLostError extends IoError {
  /** Always `'IPCEZ_ERR_CONNECTION_LOST'`. */
  override readonly code = 'IPCEZ_ERR_CONNECTION_LOST' as const;
  /** Why the connection ended. */
  readonly reason: ConnectionLostReason;

  /**
   * @param reason - why the connection ended.
   * @param message - optional detail; a default naming the reason is used otherwise.
   * @param options - {@link IoErrorOptions}.
   */
  constructor(reason: ConnectionLostReason, message?: string, options: IoErrorOptions = {}) {
    super(message ?? `connection lost (${reason})`, options);
    this.reason = reason;
  }
}

/**
 * A WebSocket handshake or protocol failure: an HTTP status other than 101, a TLS failure
 * (bad or untrusted certificate), or a protocol violation.
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_WS' && error.status === 404) console.error('wrong path');
 * ```
 */
export class WsError extends IpcezError {
  /** Always `'IPCEZ_ERR_WS'`. */
  readonly code = 'IPCEZ_ERR_WS' as const;
  /** The HTTP status of a failed handshake, when there was one. */
  readonly status: number | undefined;
  /** The WebSocket close code (1002, 1009 ...), when the failure came with one. */
  readonly closeCode: number | undefined;

  /**
   * @param message - what failed, with the URL and the status or TLS reason.
   * @param options - `status`, `closeCode`, and the underlying `cause`.
   */
  constructor(message: string, options: { status?: number; closeCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.closeCode = options.closeCode;
  }
}

/**
 * The `target` or `os` environment variable (or option) is missing or invalid for a local
 * endpoint. The message names the variable, the value seen and the values allowed.
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_DETECTION') console.error(`set ${error.variable} to one of ${error.allowed.join('|')}`);
 * ```
 */
export class DetectionError extends IpcezError {
  /** Always `'IPCEZ_ERR_DETECTION'`. */
  readonly code = 'IPCEZ_ERR_DETECTION' as const;
  /** The variable at fault: `'target'` or `'os'`. */
  readonly variable: string;
  /** The value seen; `undefined` when the variable was missing. */
  readonly value: string | undefined;
  /** The values allowed. */
  readonly allowed: readonly string[];

  /**
   * @param variable - `'target'` or `'os'`.
   * @param value - the value seen, `undefined` when missing.
   * @param allowed - the accepted values.
   * @param hint - an extra sentence on how to fix it.
   */
  constructor(variable: string, value: string | undefined, allowed: readonly string[], hint?: string) {
    super(
      `${variable} is ${value === undefined ? 'not set' : `"${value}", which is not valid`}; ` +
        `allowed values: ${allowed.join(', ')}${hint === undefined ? '' : `. ${hint}`}`,
    );
    this.variable = variable;
    this.value = value;
    this.allowed = allowed;
  }
}

/**
 * The `target`/`os` pair cannot work for this endpoint or on this machine: `target=remote`
 * with a non-URL endpoint, `os=windows` outside Windows, `os=linux` on Windows.
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_UNSUPPORTED_COMBINATION') console.error(error.target, error.os);
 * ```
 */
export class UnsupportedCombinationError extends IpcezError {
  /** Always `'IPCEZ_ERR_UNSUPPORTED_COMBINATION'`. */
  readonly code = 'IPCEZ_ERR_UNSUPPORTED_COMBINATION' as const;
  /** The target in force. */
  readonly target: string;
  /** The os in force. */
  readonly os: string;

  /**
   * @param target - the target in force.
   * @param os - the os in force.
   * @param detail - why the pair cannot work.
   */
  constructor(target: string, os: string, detail: string) {
    super(`target=${target} with os=${os} is not supported: ${detail}`);
    this.target = target;
    this.os = os;
  }
}

/**
 * No "data acked" signal arrived in time after a send. The bytes were written; delivery is
 * unconfirmed. The connection stays open.
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_ACK_TIMEOUT') console.warn(`unconfirmed after ${error.timeoutMs} ms`);
 * ```
 */
export class RecipientAckTimeoutError extends IpcezError {
  /** Always `'IPCEZ_ERR_ACK_TIMEOUT'`. */
  readonly code = 'IPCEZ_ERR_ACK_TIMEOUT' as const;
  /** The timeout that elapsed, in milliseconds. */
  readonly timeoutMs: number;

  /** @param timeoutMs - the timeout that elapsed, in milliseconds. */
  constructor(timeoutMs: number) {
    super(`no "data acked" signal within ${timeoutMs} ms: the message was written, delivery is unconfirmed`);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * `listen` found a live server already answering the endpoint; nothing was touched.
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_ENDPOINT_IN_USE') console.error(`${error.endpoint} is taken`);
 * ```
 */
export class EndpointInUseError extends IpcezError {
  /** Always `'IPCEZ_ERR_ENDPOINT_IN_USE'`. */
  readonly code = 'IPCEZ_ERR_ENDPOINT_IN_USE' as const;
  /** The resolved endpoint. */
  readonly endpoint: string;

  /**
   * @param endpoint - the resolved endpoint.
   * @param options - the underlying `cause`, if any.
   */
  constructor(endpoint: string, options: { cause?: unknown } = {}) {
    super(
      `a live server already answers at ${endpoint}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.endpoint = endpoint;
  }
}

/**
 * The operation cannot work on this platform (e.g. named pipes outside Windows). Thrown when
 * called, never at import.
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_UNSUPPORTED_PLATFORM') useAnotherTransport();
 * ```
 */
export class UnsupportedPlatformError extends IpcezError {
  /** Always `'IPCEZ_ERR_UNSUPPORTED_PLATFORM'`. */
  readonly code = 'IPCEZ_ERR_UNSUPPORTED_PLATFORM' as const;
  /** What was asked for (`'Windows named pipes'` ...). */
  readonly feature: string;
  /** The platform it was asked on (`process.platform` or `'browser'`). */
  readonly platform: string;

  /**
   * @param feature - what was asked for.
   * @param platform - where.
   */
  constructor(feature: string, platform: string) {
    super(`${feature} are not supported on ${platform}`);
    this.feature = feature;
    this.platform = platform;
  }
}

/**
 * The endpoint string cannot be used: a Unix socket path longer than the OS limit, an empty
 * name, a malformed URL, a URL scheme that is not `ws:`/`wss:`.
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_INVALID_ENDPOINT') console.error(error.endpoint, error.message);
 * ```
 */
export class InvalidEndpointError extends IpcezError {
  /** Always `'IPCEZ_ERR_INVALID_ENDPOINT'`. */
  readonly code = 'IPCEZ_ERR_INVALID_ENDPOINT' as const;
  /** The endpoint as resolved (e.g. the absolute socket path). */
  readonly endpoint: string;

  /**
   * @param endpoint - the endpoint as resolved.
   * @param reason - why it cannot be used, with the limit where there is one.
   */
  constructor(endpoint: string, reason: string) {
    super(`invalid endpoint ${JSON.stringify(endpoint)}: ${reason}`);
    this.endpoint = endpoint;
  }
}

/**
 * A send asked not to wait (`wait: false`) found the send queue at or past its high-water
 * mark. Nothing was queued.
 *
 * @example
 * ```ts
 * try { await conn.send(msg, { wait: false }); } catch (e) { if (e.code === 'IPCEZ_ERR_SEND_BUFFER_FULL') dropOrRetry(); }
 * ```
 */
export class SendBufferFullError extends IpcezError {
  /** Always `'IPCEZ_ERR_SEND_BUFFER_FULL'`. */
  readonly code = 'IPCEZ_ERR_SEND_BUFFER_FULL' as const;
  /** Bytes queued at the time. */
  readonly bufferedAmount: number;
  /** The high-water mark in force, in bytes. */
  readonly highWaterMark: number;

  /**
   * @param bufferedAmount - bytes queued at the time.
   * @param highWaterMark - the high-water mark in force.
   */
  constructor(bufferedAmount: number, highWaterMark: number) {
    super(`send queue holds ${bufferedAmount} bytes, at or past its high-water mark of ${highWaterMark} bytes`);
    this.bufferedAmount = bufferedAmount;
    this.highWaterMark = highWaterMark;
  }
}

/**
 * Delivery acknowledgement cannot work here: koffi or the OS primitive (POSIX named
 * semaphores, Windows named events) is unavailable. The message says how to run without
 * acks (`ack: false` on both ends).
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_ACK_UNAVAILABLE') socket = await connect(endpoint, { ack: false });
 * ```
 */
export class AckUnavailableError extends IpcezError {
  /** Always `'IPCEZ_ERR_ACK_UNAVAILABLE'`. */
  readonly code = 'IPCEZ_ERR_ACK_UNAVAILABLE' as const;

  /**
   * @param detail - what is missing.
   * @param options - the underlying `cause`.
   */
  constructor(detail: string, options: { cause?: unknown } = {}) {
    super(
      `delivery acknowledgement is unavailable: ${detail}. Run without acks by passing { ack: false } ` +
        `(CLI: --no-ack) on both ends of the connection.`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
  }
}

/**
 * The peer broke the wire protocol: a control header protocol v2 does not allow where it came
 * (a reserved type, HELLO or HELLO_REPLY out of place, ACK 0, an ACK for more frames than were
 * sent; see docs/PROTOCOL.md §5). The connection is closed; this is its one terminal error.
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_PROTOCOL') console.error('peer broke the protocol:', error.message);
 * ```
 */
export class ProtocolError extends IpcezError {
  /** Always `'IPCEZ_ERR_PROTOCOL'`. */
  readonly code = 'IPCEZ_ERR_PROTOCOL' as const;

  /**
   * @param detail - what the peer did.
   * @param options - the underlying `cause`, if any.
   */
  constructor(detail: string, options: { cause?: unknown } = {}) {
    super(`protocol error: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/**
 * The error class behind each code: what {@link isIpcezError} narrows to when given a code.
 *
 * @example
 * ```ts
 * type E = IpcezErrorClasses['IPCEZ_ERR_ACK_TIMEOUT']; // RecipientAckTimeoutError
 * ```
 */
export interface IpcezErrorClasses {
  /** An OS-level failure. */
  IPCEZ_ERR_IO: IoError;
  /** The peer went away, or `disconnect()` was called. */
  IPCEZ_ERR_CONNECTION_LOST: ConnectionLostError;
  /** A WebSocket handshake or protocol failure. */
  IPCEZ_ERR_WS: WsError;
  /** A message over the limit, sent or announced. */
  IPCEZ_ERR_FRAME_TOO_LARGE: FrameTooLargeError;
  /** `target`/`os` missing or invalid. */
  IPCEZ_ERR_DETECTION: DetectionError;
  /** A `target`/`os` combination this process cannot serve. */
  IPCEZ_ERR_UNSUPPORTED_COMBINATION: UnsupportedCombinationError;
  /** No "data acked" in time. */
  IPCEZ_ERR_ACK_TIMEOUT: RecipientAckTimeoutError;
  /** A live server already answers the endpoint. */
  IPCEZ_ERR_ENDPOINT_IN_USE: EndpointInUseError;
  /** The transport does not exist on this platform. */
  IPCEZ_ERR_UNSUPPORTED_PLATFORM: UnsupportedPlatformError;
  /** The endpoint cannot be used. */
  IPCEZ_ERR_INVALID_ENDPOINT: InvalidEndpointError;
  /** `wait: false` and the send queue is full. */
  IPCEZ_ERR_SEND_BUFFER_FULL: SendBufferFullError;
  /** Acks were asked for where they cannot work. */
  IPCEZ_ERR_ACK_UNAVAILABLE: AckUnavailableError;
  /** A reconnecting client gave up. */
  IPCEZ_ERR_RECONNECT_FAILED: ReconnectFailedError;
  /** A send waited longer than its timeout. */
  IPCEZ_ERR_SEND_TIMEOUT: SendTimeoutError;
  /** The peer broke the wire protocol. */
  IPCEZ_ERR_PROTOCOL: ProtocolError;
  /** A listener at `maxConnections` refused a connection. */
  IPCEZ_ERR_CONNECTION_LIMIT: ConnectionLimitError;
  /** A partial frame would have taken the listener past `maxPartialBytes`. */
  IPCEZ_ERR_PARTIAL_FRAME_LIMIT: PartialFrameLimitError;
  /** A frame was not completed within `frameTimeoutMs`. */
  IPCEZ_ERR_FRAME_TIMEOUT: FrameTimeoutError;
  /** No byte either way for `idleTimeoutMs`. */
  IPCEZ_ERR_IDLE_TIMEOUT: IdleTimeoutError;
}

/**
 * Whether `value` is an ipcez error with the given code, narrowed to that code's class
 * ({@link IpcezErrorClasses}). Matches on `code`, so it also recognises errors from a second
 * copy of the package.
 *
 * @param value - anything caught.
 * @param code - the code to require.
 * @returns `true` when `value` is an `Error` whose `code` equals `code`.
 * @example
 * ```ts
 * if (isIpcezError(error, 'IPCEZ_ERR_ACK_TIMEOUT')) console.warn(`unconfirmed after ${error.timeoutMs} ms`);
 * ```
 */
export function isIpcezError<C extends IpcezErrorCode>(value: unknown, code: C): value is IpcezErrorClasses[C];
/**
 * Whether `value` is an ipcez error (its `code` is one of {@link IPCEZ_ERROR_CODES}), or, with
 * `code`, one with that code.
 *
 * @param value - anything caught.
 * @param code - the code to require, if any.
 * @returns `true` when `value` is an `Error` whose `code` is an ipcez code (or equals `code`).
 * @example
 * ```ts
 * if (!isIpcezError(error)) throw error;
 * ```
 */
export function isIpcezError(value: unknown, code?: IpcezErrorCode): value is IpcezError;
export function isIpcezError(value: unknown, code?: IpcezErrorCode): value is IpcezError {
  if (!(value instanceof Error)) return false;
  const actual = (value as { code?: unknown }).code;
  if (code !== undefined) return actual === code;
  return typeof actual === 'string' && (IPCEZ_ERROR_CODES as readonly string[]).includes(actual);
}

/**
 * A programmer error (bad argument or option): a `TypeError` or `RangeError` with
 * `code: 'IPCEZ_ERR_INVALID_ARG'`, thrown synchronously.
 *
 * @param message - names the argument, the value and what is allowed.
 * @param kind - `'type'` (the default) for a wrong type, `'range'` for a value out of range.
 * @returns the error, for the caller to throw.
 * @example
 * ```ts
 * if (typeof endpoint !== 'string') throw invalidArgError(`endpoint must be a string, got ${typeof endpoint}`);
 * ```
 */
export function invalidArgError(
  message: string,
  kind: 'type' | 'range' = 'type',
): (TypeError | RangeError) & {
  /** Always `'IPCEZ_ERR_INVALID_ARG'`. */
  readonly code: 'IPCEZ_ERR_INVALID_ARG';
} {
  const error = kind === 'range' ? new RangeError(message) : new TypeError(message);
  return Object.assign(error, { code: 'IPCEZ_ERR_INVALID_ARG' as const });
}
