import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect, test } from 'vitest';
import { acquireListenerLock } from '@ipcez/ack';
import { isLinux, uniqueEndpoint } from './helpers.js';

describe.runIf(isLinux)('acquireListenerLock on linux', () => {
  test('a second start on the same endpoint waits until the first releases the lock', async () => {
    const endpoint = uniqueEndpoint('lock');
    const first = await acquireListenerLock(endpoint);
    const order: string[] = [];
    const second = acquireListenerLock(endpoint).then((lock) => {
      order.push('second acquired');
      return lock;
    });
    // Another endpoint is not held up by it.
    const other = await acquireListenerLock(uniqueEndpoint('lock-other'));
    await other.release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    order.push('first releasing');
    await first.release();
    await first.release(); // idempotent
    const lock = await second;
    expect(order).toEqual(['first releasing', 'second acquired']);
    await lock.release();
  });

  test('two spellings of one socket path share one lock', async () => {
    const endpoint = uniqueEndpoint('lock-spelling');
    const slash = endpoint.lastIndexOf('/');
    const respelled = `${endpoint.slice(0, slash)}/./${endpoint.slice(slash + 1)}`;
    const lock = await acquireListenerLock(endpoint);
    await expect(acquireListenerLock(respelled, { timeoutMs: 30 })).rejects.toMatchObject({
      code: 'IPCEZ_ERR_ENDPOINT_IN_USE',
    });
    await lock.release();
  });

  test('gives up with EndpointInUseError after timeoutMs, and honours an abort', async () => {
    const endpoint = uniqueEndpoint('lock-timeout');
    const lock = await acquireListenerLock(endpoint);
    await expect(acquireListenerLock(endpoint, { timeoutMs: 40 })).rejects.toMatchObject({
      code: 'IPCEZ_ERR_ENDPOINT_IN_USE',
    });
    const controller = new AbortController();
    const waiting = acquireListenerLock(endpoint, { signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    await lock.release();
  });

  test('a process killed while holding the lock releases it', async () => {
    const endpoint = uniqueEndpoint('lock-kill');
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { acquireListenerLock } from '@ipcez/ack';
         await acquireListenerLock(process.argv[1]);
         console.log('held');
         setInterval(() => {}, 1000);`,
        endpoint,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    expect(line).toBe('held');
    await expect(acquireListenerLock(endpoint, { timeoutMs: 30 })).rejects.toMatchObject({
      code: 'IPCEZ_ERR_ENDPOINT_IN_USE',
    });
    child.kill('SIGKILL');
    await once(child, 'exit');
    const lock = await acquireListenerLock(endpoint, { timeoutMs: 2000 });
    await lock.release();
  });

  test('rejects bad arguments synchronously with IPCEZ_ERR_INVALID_ARG', () => {
    const invalid: unknown = expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' });
    expect(() => acquireListenerLock('')).toThrow(invalid);
    expect(() => acquireListenerLock('/tmp/x.sock', { timeoutMs: -1 })).toThrow(invalid);
  });
});
