import type { Socket } from 'node:net';
import { UnsupportedPlatformError, invalidArgError } from '@ipcez/core';
import type { PeerCredentials } from './ack-backend.js';
import { loadAckBackend } from './platform/index.js';

/**
 * The credentials (pid, uid, gid) of the process at the other end of a connected Unix
 * socket, as the kernel recorded them when it connected (`SO_PEERCRED`). A listener on an
 * abstract socket (`@name`), which has no file mode, uses it to accept only its own user.
 *
 * **Platform behaviour.** Linux only (koffi over the C library's `getsockopt`); elsewhere it
 * rejects with `UnsupportedPlatformError`.
 *
 * @param socket - a connected `net.Socket` of a Unix domain socket (client or accepted).
 * @returns `{ pid, uid, gid }`.
 * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`), synchronously, when `socket` has no file descriptor.
 * @throws UnsupportedPlatformError (`IPCEZ_ERR_UNSUPPORTED_PLATFORM`), IoError (`IPCEZ_ERR_IO`)
 *   or AckUnavailableError (koffi missing), as rejections.
 * @example
 * ```ts fragment
 * server.on('connection', async (socket) => {
 *   const { uid } = await peerCredentials(socket);
 *   if (uid !== process.getuid?.()) socket.destroy();
 * });
 * ```
 */
export function peerCredentials(socket: Socket): Promise<PeerCredentials> {
  // Node keeps the descriptor on the socket's internal handle (a Pipe on Unix sockets).
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null } | null)?._handle?.fd;
  if (typeof fd !== 'number' || fd < 0)
    throw invalidArgError('socket must be a connected Unix socket with a file descriptor');
  return read(fd);
}

async function read(fd: number): Promise<PeerCredentials> {
  const backend = await loadAckBackend();
  if (backend.peerCredentials === undefined) {
    throw new UnsupportedPlatformError('peer credentials of Unix sockets', process.platform);
  }
  return backend.peerCredentials(fd);
}
