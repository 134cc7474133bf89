/**
 * Base class of every operational ipcez error. Each subclass has a stable `code` string;
 * match on `code`, not `instanceof`, because two copies of a package can coexist in
 * `node_modules`. Messages may change between releases; codes are API.
 *
 * The full list of codes and classes is in `@ipcez/core` (`IPCEZ_ERROR_CODES`); this base
 * class lives here, in the dependency-free codec, so that the codec's own error shares it.
 *
 * @example
 * ```ts
 * try { decoder.push(chunk); } catch (error) {
 *   if (error instanceof IpcezError && error.code === 'IPCEZ_ERR_FRAME_TOO_LARGE') { ... }
 * }
 * ```
 */
export abstract class IpcezError extends Error {
  /** Stable machine-readable code, `IPCEZ_ERR_*`. */
  abstract readonly code: string;

  /**
   * @param message - human-readable description naming the value and the limit involved.
   * @param options - standard `ErrorOptions`; `cause` carries the underlying error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A message is larger than the payload limit: either a send of more than the limit (nothing
 * was written, the connection stays usable) or a received header announcing more than the
 * limit (a protocol error: nothing of that size is allocated and the connection is closed).
 *
 * @example
 * ```ts
 * if (error.code === 'IPCEZ_ERR_FRAME_TOO_LARGE') console.log(error.size, error.limit);
 * ```
 */
export class FrameTooLargeError extends IpcezError {
  /** Always `'IPCEZ_ERR_FRAME_TOO_LARGE'`. */
  readonly code = 'IPCEZ_ERR_FRAME_TOO_LARGE' as const;
  /** The size in bytes that was sent or announced. */
  readonly size: number;
  /** The limit in bytes that it exceeds. */
  readonly limit: number;

  /**
   * @param size - the payload size sent or announced, in bytes.
   * @param limit - the limit it exceeds, in bytes.
   * @param direction - whether the size was `'sent'` by this side or `'announced'` by a header.
   */
  constructor(size: number, limit: number, direction: 'sent' | 'announced' = 'sent') {
    super(
      direction === 'announced'
        ? `frame header announces ${size} bytes, which exceeds the limit of ${limit} bytes`
        : `message of ${size} bytes exceeds the limit of ${limit} bytes`,
    );
    this.size = size;
    this.limit = limit;
  }
}

/** A `RangeError` with `code: 'IPCEZ_ERR_INVALID_ARG'`. Module-private: not exported by the package. */
export function invalidArgument(message: string): RangeError & { code: 'IPCEZ_ERR_INVALID_ARG' } {
  return Object.assign(new RangeError(message), { code: 'IPCEZ_ERR_INVALID_ARG' as const });
}

/** A `TypeError` with `code: 'IPCEZ_ERR_INVALID_ARG'` for an argument that is not a `Uint8Array`. Module-private. */
export function invalidType(name: string, value: unknown): TypeError & { code: 'IPCEZ_ERR_INVALID_ARG' } {
  const seen =
    value === null
      ? 'null'
      : typeof value === 'object'
        ? ((value as { constructor?: { name?: string } }).constructor?.name ?? 'object')
        : typeof value;
  return Object.assign(new TypeError(`${name} must be a Uint8Array, got ${seen}`), {
    code: 'IPCEZ_ERR_INVALID_ARG' as const,
  });
}
