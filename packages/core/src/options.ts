import { resolveMaxMessageBytes } from '@ipcez/framing';
import type { IpcezError } from '@ipcez/framing';
import {
  DEFAULT_FRAME_TIMEOUT_MS,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_PARTIAL_BYTES,
} from './constants.js';
import type { ConnectOptions, ListenOptions } from './contracts.js';
import { describeValue } from './describe-value.js';
import { invalidArgError } from './errors.js';

/** The options every transport's `connect` and `listen` take, validated once. */
export interface ResolvedCommonOptions {
  /** The caller's signal, if any. */
  readonly signal: AbortSignal | undefined;
  /** Payload limit in bytes, both directions. */
  readonly maxMessageBytes: number;
  /** High-water mark of queued send bytes (and of buffered received bytes). */
  readonly highWaterMark: number;
  /** `ListenOptions.beforeBind`, when given. */
  readonly beforeBind: ((resolvedEndpoint: string) => void | Promise<void>) | undefined;
  /** `ListenOptions.beforeClose`, when given. */
  readonly beforeClose: (() => void) | undefined;
}

/**
 * Checks that `value` is `undefined` or a safe integer from `min` to `max`.
 *
 * @param value - the option's value.
 * @param name - its name in messages (`options.closeTimeoutMs`).
 * @param min - smallest value allowed.
 * @param max - largest value allowed (default: `setTimeout`'s limit, 2147483647).
 * @returns the value, or `undefined`.
 * @throws TypeError / RangeError (`IPCEZ_ERR_INVALID_ARG`) otherwise.
 * @example
 * ```ts
 * const ms = integerOption(options.closeTimeoutMs, 'options.closeTimeoutMs', 1) ?? DEFAULT_CLOSE_TIMEOUT_MS;
 * ```
 */
export function integerOption(value: unknown, name: string, min: number, max = 2_147_483_647): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw invalidArgError(`${name} must be a number, got ${describeValue(value)}`);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw invalidArgError(`${name} must be an integer from ${min} to ${max}, got ${value}`, 'range');
  }
  return value;
}

/**
 * Validates the options shared by every transport's `connect` and `listen` (`signal`,
 * `maxMessageBytes`, `highWaterMark`, `beforeBind`), synchronously, before any I/O.
 *
 * @param options - what the caller passed (may be anything).
 * @returns the resolved options, defaults filled in.
 * @throws TypeError / RangeError (`IPCEZ_ERR_INVALID_ARG`) for a bad option.
 * @example
 * ```ts
 * const { signal, maxMessageBytes, highWaterMark } = resolveCommonOptions(options);
 * ```
 */
export function resolveCommonOptions(options: ConnectOptions | ListenOptions | undefined): ResolvedCommonOptions {
  const given: unknown = options;
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    throw invalidArgError(`options must be an object, got ${describeValue(given)}`);
  }
  const o = (options ?? {}) as ListenOptions;
  const signal: unknown = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgError(`options.signal must be an AbortSignal, got ${describeValue(signal)}`);
  }
  const beforeBind: unknown = o.beforeBind;
  if (beforeBind !== undefined && typeof beforeBind !== 'function') {
    throw invalidArgError(`options.beforeBind must be a function, got ${describeValue(beforeBind)}`);
  }
  const beforeClose: unknown = o.beforeClose;
  if (beforeClose !== undefined && typeof beforeClose !== 'function') {
    throw invalidArgError(`options.beforeClose must be a function, got ${describeValue(beforeClose)}`);
  }
  if (o.maxMessageBytes !== undefined && typeof o.maxMessageBytes !== 'number') {
    throw invalidArgError(`options.maxMessageBytes must be a number, got ${describeValue(o.maxMessageBytes)}`);
  }
  return {
    signal,
    maxMessageBytes: resolveMaxMessageBytes(o.maxMessageBytes),
    highWaterMark: integerOption(o.highWaterMark, 'options.highWaterMark', 1) ?? DEFAULT_HIGH_WATER_MARK,
    beforeBind: o.beforeBind,
    beforeClose: o.beforeClose,
  };
}

/** The per-listener limits of `ListenOptions`, validated once. */
export interface ResolvedListenerLimits {
  /** Connections served at once (`Infinity`: no cap). */
  readonly maxConnections: number;
  /** Bytes partial frames may hold across the listener's connections (`Infinity`: no cap). */
  readonly maxPartialBytes: number;
  /** Time a started frame may take to complete, in ms. */
  readonly frameTimeoutMs: number;
  /** Idle time after which a connection is closed, in ms; `undefined`: never. */
  readonly idleTimeoutMs: number | undefined;
  /** `ListenOptions.onRefused`, when given. */
  readonly onRefused: ((error: IpcezError) => void) | undefined;
  /** Which of the byte-stream-only options the caller set (for transports without them). */
  readonly streamOnly: readonly string[];
}

function capOption(value: unknown, name: string, fallback: number): number {
  if (value === Number.POSITIVE_INFINITY) return value;
  return integerOption(value, name, 1, Number.MAX_SAFE_INTEGER) ?? fallback;
}

/**
 * Validates the per-listener limits of `ListenOptions` (`maxConnections`, `maxPartialBytes`,
 * `frameTimeoutMs`, `idleTimeoutMs`, `onRefused`), synchronously, before any I/O.
 *
 * @param options - what the caller passed to `listen` (may be anything).
 * @returns the resolved limits, defaults filled in.
 * @throws TypeError / RangeError (`IPCEZ_ERR_INVALID_ARG`) for a bad option.
 * @example
 * ```ts
 * const { maxConnections, maxPartialBytes } = resolveListenerLimits(options);
 * ```
 */
export function resolveListenerLimits(options: ListenOptions | undefined): ResolvedListenerLimits {
  const o: ListenOptions = options ?? {};
  const onRefused: unknown = o.onRefused;
  if (onRefused !== undefined && typeof onRefused !== 'function') {
    throw invalidArgError(`options.onRefused must be a function, got ${describeValue(onRefused)}`);
  }
  return {
    maxConnections: capOption(o.maxConnections, 'options.maxConnections', DEFAULT_MAX_CONNECTIONS),
    maxPartialBytes: capOption(o.maxPartialBytes, 'options.maxPartialBytes', DEFAULT_MAX_PARTIAL_BYTES),
    frameTimeoutMs: integerOption(o.frameTimeoutMs, 'options.frameTimeoutMs', 1) ?? DEFAULT_FRAME_TIMEOUT_MS,
    idleTimeoutMs: integerOption(o.idleTimeoutMs, 'options.idleTimeoutMs', 1),
    onRefused: o.onRefused,
    streamOnly: (['maxPartialBytes', 'frameTimeoutMs', 'idleTimeoutMs'] as const).filter((k) => o[k] !== undefined),
  };
}
