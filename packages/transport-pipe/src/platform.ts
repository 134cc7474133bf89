import { UnsupportedPlatformError } from '@ipcez/core';

/**
 * Whether Windows named pipes work in this process: `true` exactly when
 * `process.platform === 'win32'` (Node's `net` speaks `\\.\pipe\` names only there).
 * Never throws.
 *
 * @returns `true` on Windows, `false` elsewhere.
 * @example
 * ```ts
 * const transport = isPipeSupported() ? pipeTransport : unixTransport;
 * ```
 */
export function isPipeSupported(): boolean {
  return typeof process === 'object' && process.platform === 'win32';
}

/** The error for a pipe operation outside Windows (thrown when called, never at import). */
export function unsupportedPlatform(): UnsupportedPlatformError {
  const platform = typeof process === 'object' ? process.platform : 'unknown';
  return new UnsupportedPlatformError('Windows named pipes', platform);
}
