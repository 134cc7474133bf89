// Clients that arrive faster than a listener accepts find its accept backlog full: on Linux a
// Unix socket connect then fails at once with EAGAIN. A connect retries that for up to 1 s.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { connectUnix } from '@ipcez/transport-unix';

// A listener (Python, so that its process, not this test's event loop, decides when to accept)
// with a backlog of 0, filled by its own two connects; it says `full`, then waits for a line on
// stdin before it accepts everything, forever.
const SERVER = `
import os, socket, sys
path = sys.argv[1]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(0)
fillers = []
for _ in range(8):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(path)
        fillers.append(s)
    except BlockingIOError:
        s.close()
        break
print('full', flush=True)
sys.stdin.readline()
while True:
    connection, _ = server.accept()
    fillers.append(connection)
`;

let dir = '';
let child: ChildProcess | undefined;

afterEach(async () => {
  const running = child;
  if (running?.exitCode === null) {
    const exited = once(running, 'exit');
    running.kill('SIGKILL');
    await exited;
  }
  child = undefined;
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

async function fullListener(): Promise<{ path: string; accept: () => void }> {
  dir = mkdtempSync(join(tmpdir(), 'ipcez-backlog-'));
  const path = join(dir, 's.sock');
  const started = spawn('python3', ['-c', SERVER, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  child = started;
  const [line] = (await once(createInterface({ input: started.stdout }), 'line')) as [string];
  expect(line).toBe('full');
  return {
    path,
    accept: () => {
      started.stdin.write('go\n');
    },
  };
}

describe.runIf(process.platform === 'linux')('a connect to a listener whose accept backlog is full', () => {
  it('retries EAGAIN and connects once the listener accepts', async () => {
    const { path, accept } = await fullListener();
    const connecting = connectUnix(path);
    setTimeout(accept, 100);
    const connection = await connecting;
    expect(connection.state).toBe('open');
    connection.destroy();
  });

  it('gives up after about a second with an IoError that says why', async () => {
    const { path } = await fullListener();
    await expect(connectUnix(path)).rejects.toMatchObject({
      code: 'IPCEZ_ERR_IO',
      message: expect.stringContaining('accept backlog') as string,
    });
  });
});
