import { describe, expect, it } from 'vitest';

import { connectPipe, isPipeSupported, listenPipe, pipeTransport } from '@ipcez/transport-pipe';

const onWindows = process.platform === 'win32';

describe('pipeTransport', () => {
  it('is the pipe transport whose connect and listen are connectPipe and listenPipe', () => {
    expect(pipeTransport).toMatchObject({ kind: 'pipe', connect: connectPipe, listen: listenPipe });
    expect(Object.isFrozen(pipeTransport)).toBe(true);
  });

  it('reports itself supported exactly on win32', () => {
    expect(pipeTransport.isSupported()).toBe(onWindows);
    expect(isPipeSupported()).toBe(onWindows);
  });
});

describe('argument errors', () => {
  it('throws TypeError IPCEZ_ERR_INVALID_ARG synchronously for a non-string endpoint', () => {
    expect(() => connectPipe(7 as unknown as string)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'IPCEZ_ERR_INVALID_ARG' }),
    );
    expect(() => listenPipe(undefined as unknown as string)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'IPCEZ_ERR_INVALID_ARG' }),
    );
  });

  it('throws IPCEZ_ERR_INVALID_ARG synchronously for bad options, naming the option', () => {
    expect(() => connectPipe('x', { highWaterMark: 0 })).toThrow(
      expect.objectContaining({ name: 'RangeError', message: expect.stringContaining('highWaterMark') as unknown }),
    );
    expect(() => connectPipe('x', { maxMessageBytes: 4 * 1024 * 1024 + 1 })).toThrow(
      expect.objectContaining({
        code: 'IPCEZ_ERR_INVALID_ARG',
        message: expect.stringContaining('maxMessageBytes') as unknown,
      }),
    );
    expect(() => connectPipe('x', { signal: {} as AbortSignal })).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG', message: expect.stringContaining('signal') as unknown }),
    );
    expect(() => listenPipe('x', { beforeBind: 'no' as unknown as () => void })).toThrow(
      expect.objectContaining({
        code: 'IPCEZ_ERR_INVALID_ARG',
        message: expect.stringContaining('beforeBind') as unknown,
      }),
    );
    expect(() => listenPipe('x', null as unknown as undefined)).toThrow(
      expect.objectContaining({
        code: 'IPCEZ_ERR_INVALID_ARG',
        message: expect.stringContaining('options') as unknown,
      }),
    );
  });
});

describe.runIf(!onWindows)(`outside Windows (${process.platform})`, () => {
  it('imports without throwing, then rejects connectPipe with UnsupportedPlatformError when called', async () => {
    const module = await import('@ipcez/transport-pipe');
    await expect(module.connectPipe('ipcez-test')).rejects.toMatchObject({
      name: 'UnsupportedPlatformError',
      code: 'IPCEZ_ERR_UNSUPPORTED_PLATFORM',
      feature: 'Windows named pipes',
      platform: process.platform,
    });
  });

  it('rejects listenPipe with UnsupportedPlatformError and never calls beforeBind', async () => {
    let called = false;
    await expect(
      listenPipe('ipcez-test', {
        beforeBind: () => {
          called = true;
        },
      }),
    ).rejects.toMatchObject({
      code: 'IPCEZ_ERR_UNSUPPORTED_PLATFORM',
      message: expect.stringContaining(process.platform) as unknown,
    });
    expect(called).toBe(false);
  });

  it('reports the platform before looking at the endpoint', async () => {
    await expect(pipeTransport.connect('')).rejects.toMatchObject({ code: 'IPCEZ_ERR_UNSUPPORTED_PLATFORM' });
  });
});
