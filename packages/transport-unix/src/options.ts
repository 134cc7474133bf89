import type { ConnectOptions, ListenOptions } from '@ipcez/core';
import { invalidArgError } from '@ipcez/core';
import { resolveMaxMessageBytes } from '@ipcez/framing';

/** Connect/listen options checked once, before any I/O. */
export interface ResolvedCommonOptions {
  readonly signal: AbortSignal | undefined;
  readonly maxMessageBytes: number;
  readonly highWaterMark: number | undefined;
}

/** Checks the options shared by connect and listen; programmer errors throw synchronously. */
export function resolveCommonOptions(options: ConnectOptions | ListenOptions | undefined): ResolvedCommonOptions {
  if (options === undefined)
    return { signal: undefined, maxMessageBytes: resolveMaxMessageBytes(undefined), highWaterMark: undefined };
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw invalidArgError('options must be an object');
  }
  const { signal, highWaterMark } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgError('options.signal must be an AbortSignal');
  }
  if (highWaterMark !== undefined && (!Number.isSafeInteger(highWaterMark) || highWaterMark < 1)) {
    throw invalidArgError(`options.highWaterMark must be a positive integer, got ${String(highWaterMark)}`, 'range');
  }
  return { signal, maxMessageBytes: resolveMaxMessageBytes(options.maxMessageBytes), highWaterMark };
}
