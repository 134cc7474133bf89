// The shared transport conformance suite, run twice: over ws:// and over wss:// (TLS with a
// self-signed certificate made here with the openssl CLI, trusted through the `ca` option).
import { describeTransportConformance } from '@ipcez/conformance';
import { wsTransport } from '@ipcez/transport-ws';
import type { WsConnectOptions, WsListenOptions } from '@ipcez/transport-ws';
import { selfSignedCertificate } from '@ipcez/tooling/test-certificate';

/**
 * "A peer killed mid-frame", WebSocket style: a raw TCP (or TLS) client does the opening
 * handshake by hand, sends one whole masked binary frame carrying `whole`, then the first
 * 300 bytes of a frame announcing 1000, prints `ready` once the OS has them, and waits.
 */
const WS_PARTIAL_FRAME_PEER = `
import net from 'node:net';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
const url = new URL(process.argv[1]);
const secure = url.protocol === 'wss:';
const options = { host: url.hostname, port: Number(url.port) };
// The test's own self-signed listener: this raw peer only tests framing, not trust.
const socket = secure ? tls.connect({ ...options, rejectUnauthorized: false }) : net.connect(options);
socket.on('error', (error) => { console.error(error); process.exit(3); });
socket.once(secure ? 'secureConnect' : 'connect', () => {
  socket.write('GET ' + url.pathname + ' HTTP/1.1\\r\\nHost: ' + url.host + '\\r\\nUpgrade: websocket\\r\\n' +
    'Connection: Upgrade\\r\\nSec-WebSocket-Key: ' + randomBytes(16).toString('base64') +
    '\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n');
});
function masked(header, payload) {
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= mask[i % 4];
  return Buffer.concat([Buffer.from(header), mask, body]);
}
let response = '';
const onData = (chunk) => {
  response += chunk.toString('latin1');
  if (!response.includes('\\r\\n\\r\\n')) return;
  socket.off('data', onData);
  if (!response.startsWith('HTTP/1.1 101')) { console.error(response); process.exit(3); }
  const whole = masked([0x82, 0x80 | 5], Buffer.from('whole'));
  const partial = masked([0x82, 0x80 | 126, 1000 >> 8, 1000 & 0xff], Buffer.alloc(1000, 7)).subarray(0, 300);
  socket.write(Buffer.concat([whole, partial]), () => process.stdout.write('ready\\n'));
};
socket.on('data', onData);
setInterval(() => {}, 60_000);
`;

const { cert, key } = selfSignedCertificate('ipcez conformance');

let n = 0;

/** A keepalive fast enough that a paused reader would miss several pongs within the scenario. */
const KEEPALIVE: WsConnectOptions = { keepaliveIntervalMs: 50, keepaliveTimeoutMs: 100 };

describeTransportConformance('ws', {
  transport: wsTransport,
  makeEndpoint: () => `ws://127.0.0.1:0/c${n++}`,
  partialFramePeer: { script: WS_PARTIAL_FRAME_PEER },
  keepaliveOptions: KEEPALIVE,
});

const tlsConnect: WsConnectOptions = { ca: cert };
const tlsListen: WsListenOptions = { cert, key };

describeTransportConformance('wss', {
  transport: wsTransport,
  makeEndpoint: () => `wss://127.0.0.1:0/s${n++}`,
  partialFramePeer: { script: WS_PARTIAL_FRAME_PEER },
  connectOptions: tlsConnect,
  listenOptions: tlsListen,
  keepaliveOptions: KEEPALIVE,
});
