import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MockInstance } from 'vitest';
import { detectTransport } from 'ipcez';

type Expect =
  | { transport: 'unix' | 'pipe' | 'ws' }
  | { code: 'IPCEZ_ERR_DETECTION'; variable: 'target' | 'os'; value: string | undefined }
  | { code: 'IPCEZ_ERR_UNSUPPORTED_COMBINATION' };

const TARGET_VALUES = [undefined, 'local', 'LOCAL', 'Remote', 'nope', ''];
const OS_VALUES = [undefined, 'linux', 'Linux', 'windows', 'WINDOWS', 'windows_nt', 'Windows_NT', 'mac', ''];

/** The detection rule of the README, written independently of the implementation. */
function expected(target: string | undefined, os: string | undefined, platform: 'linux' | 'win32'): Expect {
  const t = target?.trim().toLowerCase();
  if (t === undefined || t === '') return { code: 'IPCEZ_ERR_DETECTION', variable: 'target', value: target };
  if (t !== 'local' && t !== 'remote') return { code: 'IPCEZ_ERR_DETECTION', variable: 'target', value: target };
  if (t === 'remote') return { code: 'IPCEZ_ERR_UNSUPPORTED_COMBINATION' };
  let o = os?.trim().toLowerCase();
  if (o === 'windows_nt') o = 'windows';
  if (o === undefined || o === '' || (o !== 'linux' && o !== 'windows')) {
    return { code: 'IPCEZ_ERR_DETECTION', variable: 'os', value: os };
  }
  if (o === 'windows' && platform !== 'win32') return { code: 'IPCEZ_ERR_UNSUPPORTED_COMBINATION' };
  if (o === 'linux' && platform === 'win32') return { code: 'IPCEZ_ERR_UNSUPPORTED_COMBINATION' };
  return { transport: o === 'windows' ? 'pipe' : 'unix' };
}

const rows = (['linux', 'win32'] as const).flatMap((platform) =>
  TARGET_VALUES.flatMap((target) => OS_VALUES.map((os) => ({ platform, target, os }))),
);

describe('detectTransport', () => {
  let stderr: MockInstance | undefined;
  afterEach(() => {
    stderr?.mockRestore();
    stderr = undefined;
  });
  const quiet = (): void => {
    stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  };

  it.each(rows)('env target=$target os=$os on $platform follows the detection table', ({ platform, target, os }) => {
    quiet();
    const env: Record<string, string> = {};
    if (target !== undefined) env['target'] = target;
    if (os !== undefined) env['os'] = os;
    const want = expected(target, os, platform);
    const run = (): unknown => detectTransport('/tmp/app.sock', { env, platform });
    if ('transport' in want) {
      expect(detectTransport('/tmp/app.sock', { env, platform })).toMatchObject({
        transport: want.transport,
        target: 'local',
      });
      return;
    }
    let caught: unknown;
    try {
      run();
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: want.code });
    if (want.code === 'IPCEZ_ERR_DETECTION') {
      expect(caught).toMatchObject({ variable: want.variable, value: want.value });
      const message = (caught as Error).message;
      expect(message).toContain(want.variable);
      expect(message).toMatch(want.variable === 'target' ? /local, remote/ : /linux, windows/);
    }
  });

  it.each(['linux', 'win32'] as const)('ignores target and os for ws:// and wss:// URLs on %s', (platform) => {
    for (const url of ['ws://127.0.0.1:8080/x', 'WSS://example.test/ipc', 'wss://[::1]:1/']) {
      expect(detectTransport(url, { env: { target: 'bogus', os: 'bogus' }, platform })).toMatchObject({
        transport: 'ws',
        target: 'remote',
        os: undefined,
      });
    }
  });

  it('lets explicit options win over the environment and reports where each value came from', () => {
    const d = detectTransport('/tmp/a.sock', {
      target: 'local',
      os: 'linux',
      env: { target: 'remote', os: 'windows' },
      platform: 'linux',
    });
    expect(d).toMatchObject({ transport: 'unix', sources: { target: 'option', os: 'option' } });
    const e = detectTransport('/tmp/a.sock', { env: { target: 'local', os: 'linux' }, platform: 'linux' });
    expect(e.sources).toEqual({ target: 'env', os: 'env' });
  });

  it('reads OS=Windows_NT on Windows, where environment names are case-insensitive', () => {
    expect(detectTransport('app', { env: { target: 'local', OS: 'Windows_NT' }, platform: 'win32' }).transport).toBe(
      'pipe',
    );
    quiet();
    expect(() => detectTransport('app', { env: { target: 'local', OS: 'Windows_NT' }, platform: 'linux' })).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_DETECTION', variable: 'os' }) as Error,
    );
  });

  it('refuses target=remote with a non-URL endpoint, naming the endpoint', () => {
    expect(() => detectTransport('/tmp/a.sock', { env: { target: 'remote', os: 'linux' }, platform: 'linux' })).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_UNSUPPORTED_COMBINATION', target: 'remote' }) as Error,
    );
  });

  it('refuses an http:// URL and suggests ws://', () => {
    expect(() => detectTransport('http://127.0.0.1:8080/ipc')).toThrow(/ws:\/\/127\.0\.0\.1:8080\/ipc/);
    expect(() => detectTransport('https://host/ipc')).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ENDPOINT' }) as Error,
    );
  });

  it.each(['tcp://127.0.0.1:5555', 'unix:///tmp/a.sock', 'ipc://x', 'zmq+tcp://h:1'])(
    'refuses the URL %s instead of taking it as a relative socket path',
    (endpoint) => {
      const env = { target: 'local', os: 'linux' };
      expect(() => detectTransport(endpoint, { env, platform: 'linux' })).toThrow(
        expect.objectContaining({
          code: 'IPCEZ_ERR_INVALID_ENDPOINT',
          message: expect.stringMatching(/not a supported endpoint scheme/) as string,
        }) as Error,
      );
      // Spelled as a relative path on purpose, it is one.
      expect(detectTransport(`./${endpoint}`, { env, platform: 'linux' }).transport).toBe('unix');
    },
  );

  it('refuses an empty endpoint and a non-string endpoint with clear errors', () => {
    expect(() => detectTransport('')).toThrow(expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ENDPOINT' }) as Error);
    expect(() => detectTransport(42 as unknown as string)).toThrow(TypeError);
  });
});
