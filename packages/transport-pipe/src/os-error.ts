/**
 * The `code` of an OS error (`'ENOENT'`, `'EACCES'` ...), if it has one.
 *
 * @param error - anything thrown.
 * @returns the code, or `undefined`.
 */
export function osCodeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
