import { InvalidEndpointError, invalidArgError } from '@ipcez/core';

/**
 * The prefix of every local Windows named pipe: the characters `\\.\pipe\`.
 *
 * @example
 * ```ts
 * const bare = listener.endpoint.slice(PIPE_PREFIX.length); // 'my-app'
 * ```
 */
export const PIPE_PREFIX = '\\\\.\\pipe\\';

/**
 * The longest full pipe name Windows accepts, prefix included, in UTF-16 code units
 * (`CreateNamedPipeW`: "The entire pipe name string can be up to 256 characters long").
 *
 * @example
 * ```ts
 * const room = MAX_PIPE_NAME_LENGTH - PIPE_PREFIX.length; // 247 characters for the bare name
 * ```
 */
export const MAX_PIPE_NAME_LENGTH = 256;

/**
 * Maps an endpoint string to the full Windows pipe name, `\\.\pipe\<name>`.
 *
 * This mapping is a versioned contract; changing it is a major change.
 *
 * **Platform behaviour.** Pure: it gives the same answer on every OS (it does not check
 * that the process is on Windows, so it can be used to show the pipe name anywhere).
 * - `\\.\pipe\<name>` (the prefix matched case-insensitively) is kept exactly as given.
 * - Any other string is a bare `name` and gets the prefix: `build-42` → `\\.\pipe\build-42`.
 *   A bare name is taken literally (no trimming, no case folding; `/` is an ordinary
 *   character there). Windows compares pipe names case-insensitively.
 * - Another `\\…` or `//…` form (`\\?\pipe\x`, a remote `\\server\pipe\x`, `//./pipe/x`) is
 *   refused rather than guessed at: only local pipes are served, spelled `\\.\pipe\`.
 *
 * @param endpoint - `\\.\pipe\name` or just `name`.
 * @returns the full pipe name, `\\.\pipe\name`.
 * @throws TypeError `IPCEZ_ERR_INVALID_ARG` when `endpoint` is not a string.
 * @throws InvalidEndpointError `IPCEZ_ERR_INVALID_ENDPOINT` when the name is empty, contains a
 *   NUL character, uses another `\\`/`//` prefix, or the full name is longer than
 *   {@link MAX_PIPE_NAME_LENGTH} (256) characters.
 * @example
 * ```ts
 * resolvePipeName('ipcez-demo'); // '\\\\.\\pipe\\ipcez-demo'
 * resolvePipeName('\\\\.\\pipe\\ipcez-demo'); // unchanged
 * ```
 */
export function resolvePipeName(endpoint: string): string {
  // Callers from plain JavaScript can pass anything; the type says string.
  const value: unknown = endpoint;
  if (typeof value !== 'string') {
    throw invalidArgError(`endpoint must be a string, got ${value === null ? 'null' : typeof value}`);
  }
  let full: string;
  if (endpoint.slice(0, PIPE_PREFIX.length).toLowerCase() === PIPE_PREFIX) {
    full = endpoint;
  } else if (endpoint.startsWith('\\\\') || endpoint.startsWith('//')) {
    throw new InvalidEndpointError(
      endpoint,
      `only local named pipes spelled ${PIPE_PREFIX}<name> (or a bare <name>) are supported`,
    );
  } else {
    full = PIPE_PREFIX + endpoint;
  }
  if (full.length === PIPE_PREFIX.length) {
    throw new InvalidEndpointError(endpoint, 'the pipe name is empty');
  }
  if (full.includes('\0')) {
    throw new InvalidEndpointError(full, 'a pipe name cannot contain a NUL character');
  }
  if (full.length > MAX_PIPE_NAME_LENGTH) {
    throw new InvalidEndpointError(
      full,
      `the full pipe name is ${full.length} characters, over the Windows limit of ${MAX_PIPE_NAME_LENGTH}`,
    );
  }
  return full;
}
