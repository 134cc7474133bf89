// The sidecar: connects to the host's endpoint (given as argv[2]) and answers JSON requests.
import { connect } from 'ipcez';

const socket = await connect(process.argv[2]);
const ops = {
  add: (a, b) => a + b,
  upper: (s) => s.toUpperCase(),
};
for await (const message of socket) {
  const { op, args } = JSON.parse(new TextDecoder().decode(message));
  if (op === 'exit') break;
  const reply = op in ops ? { ok: true, result: ops[op](...args) } : { ok: false, error: `unknown op ${op}` };
  await socket.sendMessage(JSON.stringify(reply));
}
await socket.disconnect();
