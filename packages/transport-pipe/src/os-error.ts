import { once } from 'node:events';
import type { Socket } from 'node:net';

/** The OS error code of a Node system error (`'ENOENT'`, `'EADDRINUSE'` ...), if any. */
export function osCodeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Destroys a socket this package owns and resolves once its handle is closed, so no pipe
 * handle outlives the operation that made it (conformance checks
 * `process.getActiveResourcesInfo()`).
 */
export async function destroyAndWait(socket: Socket): Promise<void> {
  if (socket.closed) return;
  const closed = once(socket, 'close');
  socket.destroy();
  await closed;
}
