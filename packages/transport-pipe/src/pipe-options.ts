import { DEFAULT_HIGH_WATER_MARK, invalidArgError } from '@ipcez/core';
import type { ConnectOptions, ListenOptions } from '@ipcez/core';
import { resolveMaxMessageBytes } from '@ipcez/framing';

/**
 * Options of `connectPipe` (and `pipeTransport.connect`): the options every ipcez transport's
 * `connect` takes (`signal`, `maxMessageBytes`, `highWaterMark`), nothing pipe-specific.
 *
 * @example
 * ```ts
 * const options: PipeConnectOptions = { signal: AbortSignal.timeout(2000), highWaterMark: 256 * 1024 };
 * ```
 */
export type PipeConnectOptions = ConnectOptions;

/**
 * Options of `listenPipe` (and `pipeTransport.listen`): the options every ipcez transport's
 * `listen` takes (`signal`, `maxMessageBytes`, `highWaterMark`, `beforeBind`), nothing
 * pipe-specific.
 *
 * @example
 * ```ts
 * const options: PipeListenOptions = { beforeBind: (pipeName) => console.log('binding', pipeName) };
 * ```
 */
export type PipeListenOptions = ListenOptions;

/** {@link PipeConnectOptions} once checked, defaults applied. */
export interface ResolvedPipeConnectOptions {
  readonly signal: AbortSignal | undefined;
  readonly maxMessageBytes: number;
  readonly highWaterMark: number;
}

/** {@link PipeListenOptions} once checked, defaults applied. */
export interface ResolvedPipeListenOptions extends ResolvedPipeConnectOptions {
  readonly beforeBind: ((resolvedEndpoint: string) => void | Promise<void>) | undefined;
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : typeof value;
}

function checkObject(options: unknown): void {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw invalidArgError(`options must be an object, got ${kindOf(options)}`);
  }
}

/**
 * Checks the options every transport takes; throws synchronously (STYLE.md §4).
 * @throws TypeError/RangeError `IPCEZ_ERR_INVALID_ARG` for a wrong type or value.
 */
export function resolveConnectOptions(options: PipeConnectOptions | undefined): ResolvedPipeConnectOptions {
  checkObject(options);
  const signal: unknown = options?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgError(`options.signal must be an AbortSignal, got ${kindOf(signal)}`);
  }
  const highWaterMark: unknown = options?.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  if (typeof highWaterMark !== 'number') {
    throw invalidArgError(`options.highWaterMark must be a number, got ${kindOf(highWaterMark)}`);
  }
  if (!Number.isSafeInteger(highWaterMark) || highWaterMark < 1) {
    throw invalidArgError(`options.highWaterMark must be a positive integer, got ${String(highWaterMark)}`, 'range');
  }
  return { signal, maxMessageBytes: resolveMaxMessageBytes(options?.maxMessageBytes), highWaterMark };
}

/**
 * Checks listen options; throws synchronously (STYLE.md §4).
 * @throws TypeError/RangeError `IPCEZ_ERR_INVALID_ARG` for a wrong type or value.
 */
export function resolveListenOptions(options: PipeListenOptions | undefined): ResolvedPipeListenOptions {
  const base = resolveConnectOptions(options);
  const beforeBind: unknown = options?.beforeBind;
  if (beforeBind !== undefined && typeof beforeBind !== 'function') {
    throw invalidArgError(`options.beforeBind must be a function, got ${kindOf(beforeBind)}`);
  }
  return { ...base, beforeBind: options?.beforeBind };
}
