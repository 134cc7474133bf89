/**
 * The default "peer killed mid-frame" child for the local (stream) transports. It runs as an
 * ES module (`node --input-type=module -e <script> <endpoint>`), connects with `node:net` to
 * the endpoint in `process.argv[1]` (a socket path or a `\\.\pipe\` name), writes one whole
 * frame carrying `whole`, then the first {@link STREAM_PARTIAL_FRAME_BYTES} bytes of a frame
 * announcing 1000 bytes, prints `ready` once the OS has the bytes, and waits to be killed.
 */
export const STREAM_PARTIAL_FRAME_PEER = `
import net from 'node:net';
const socket = net.connect(process.argv[1], () => {
  const whole = Buffer.from('whole');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(whole.length);
  const partial = Buffer.alloc(4 + 1000, 7);
  partial.writeUInt32BE(1000);
  socket.write(Buffer.concat([head, whole, partial.subarray(0, 300)]), () => process.stdout.write('ready\\n'));
});
socket.on('error', (error) => { console.error(error); process.exit(3); });
setInterval(() => {}, 60_000);
`;

/** Bytes of the partial frame {@link STREAM_PARTIAL_FRAME_PEER} writes (header included). */
export const STREAM_PARTIAL_FRAME_BYTES = 300;
