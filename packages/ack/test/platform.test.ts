import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { isLinux, isWindows } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/unavailable.mjs', import.meta.url));

async function outcome(what: 'platform' | 'koffi'): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(process.execPath, [FIXTURE, what], { timeout: 15_000 });
  return JSON.parse(stdout.trim()) as Record<string, unknown>;
}

describe.runIf(isLinux || isWindows)('where acks cannot work', () => {
  test('an unsupported platform imports fine and fails at open with AckUnavailableError saying how to run without acks', async () => {
    const result = await outcome('platform');
    expect(result).toMatchObject({ code: 'IPCEZ_ERR_ACK_UNAVAILABLE' });
    expect(result['message']).toContain('darwin');
    expect(result['message']).toContain('{ ack: false }');
  }, 20_000);

  test('a koffi that fails to load imports fine and fails at open with AckUnavailableError', async () => {
    const result = await outcome('koffi');
    expect(result).toMatchObject({ code: 'IPCEZ_ERR_ACK_UNAVAILABLE' });
    expect(result['message']).toContain('no koffi binary');
    expect(result['message']).toContain('--no-ack');
  }, 20_000);
});
