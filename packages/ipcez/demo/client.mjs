// Demo client process: connects with ipcez, checks every echo, prints one JSON line of results.
// argv: <endpoint> <messages> [--no-ack]
import { connect } from 'ipcez';
import { performance } from 'node:perf_hooks';

const [endpoint, countArg, ackArg] = process.argv.slice(2);
const count = Number(countArg);
const socket = await connect(endpoint, ackArg === '--no-ack' ? { ack: false } : {});
const echoes = [];
let wake;
let ended;
socket.messageHandler((result) => {
  if (result.ok) echoes.push(result.message);
  else ended = result.error;
  wake?.();
});
const nextEcho = async () => {
  while (echoes.length === 0) {
    if (ended) throw ended;
    await new Promise((resolve) => (wake = resolve));
  }
  return echoes.shift();
};
const payload = (i) => new TextEncoder().encode(`message ${i} ${'x'.repeat(i % 48)}`);
const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

// Phase 1: ping-pong, one message at a time, for round-trip latency.
const pingPong = Math.min(500, count);
const rtts = [];
let mismatches = 0;
for (let i = 0; i < pingPong; i++) {
  const sent = payload(i);
  const t0 = performance.now();
  await socket.sendMessage(sent);
  const echo = await nextEcho();
  rtts.push(performance.now() - t0);
  if (!same(sent, echo)) mismatches++;
}

// Phase 2: the rest pipelined, every send in flight at once, for throughput.
const rest = count - pingPong;
const t0 = performance.now();
const sent = Array.from({ length: rest }, (_, i) => payload(pingPong + i));
const sends = sent.map((m) => socket.sendMessage(m));
for (let i = 0; i < rest; i++) if (!same(sent[i], await nextEcho())) mismatches++;
await Promise.all(sends);
const seconds = (performance.now() - t0) / 1000;

rtts.sort((a, b) => a - b);
const pct = (p) => rtts[Math.min(rtts.length - 1, Math.floor((p / 100) * rtts.length))];
console.log(
  JSON.stringify({
    transport: socket.transport,
    endpoint: socket.endpoint,
    acked: socket.isAcked,
    ackMode: socket.ackMode,
    messages: count,
    echoed: count - mismatches,
    p50: pct(50),
    p99: pct(99),
    throughput: rest / seconds,
  }),
);
await socket.disconnect();
