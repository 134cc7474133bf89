import { once } from 'node:events';
import net from 'node:net';
import { openSignalPair } from '@ipcez/ack';
import type { SignalPair } from '@ipcez/ack';

/**
 * A raw `net` server on `path`, standing in for a peer written byte by byte. With `advertiseV2`
 * it first creates the endpoint's seed pair and protocol v2 marker, as an ipcez listener does.
 *
 * @returns a cleanup that destroys every accepted socket, closes the server, and unlinks and
 *   closes the signals.
 */
export async function startRawServer(
  path: string,
  advertiseV2: boolean,
  onSocket: (socket: net.Socket) => void,
): Promise<() => Promise<void>> {
  let pair: SignalPair | undefined;
  if (advertiseV2) {
    pair = await openSignalPair(path, { role: 'listener' });
    pair.advertiseV2();
  }
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    onSocket(socket);
  });
  server.listen(path);
  await once(server, 'listening');
  return async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, 'close');
    pair?.unlink();
    await pair?.close();
  };
}
