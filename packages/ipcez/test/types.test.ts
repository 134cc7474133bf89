// Type-level tests: `tsc -p tsconfig.json` (the package's typecheck) compiles this file, so a
// `@ts-expect-error` that no longer finds an error, or an `expectTypeOf` that no longer
// holds, fails the typecheck. The `it` bodies also run, so each check is exercised for real.
import { connect, isIpcezError, listen } from 'ipcez';
import type { ConnectOptions, IpcezErrorClasses, IpcezErrorCode, ListenOptions, RecipientAckTimeoutError } from 'ipcez';
import { describe, expect, expectTypeOf, it } from 'vitest';

describe('public types', () => {
  it('target and os are literal unions: a typo does not compile', async () => {
    expectTypeOf<ConnectOptions['target']>().toEqualTypeOf<'local' | 'remote' | undefined>();
    expectTypeOf<ListenOptions['os']>().toEqualTypeOf<'linux' | 'windows' | undefined>();
    // @ts-expect-error 'locl' is not a Target
    const typo: ConnectOptions = { target: 'locl' };
    // @ts-expect-error 'linx' is not an Os
    const typo2: ListenOptions = { os: 'linx' };
    // JavaScript callers can still pass anything: detection refuses it at run time.
    await expect(connect('/tmp/ipcez-types.sock', typo)).rejects.toMatchObject({ code: 'IPCEZ_ERR_DETECTION' });
    await expect(listen('/tmp/ipcez-types.sock', { ...typo2, target: 'local' })).rejects.toMatchObject({
      code: 'IPCEZ_ERR_DETECTION',
    });
  });

  it('isIpcezError(e, code) narrows to the class of that code', () => {
    const caught = (): unknown => Object.assign(new Error('late'), { code: 'IPCEZ_ERR_ACK_TIMEOUT', timeoutMs: 5 });
    const timeout = caught();
    if (!isIpcezError(timeout, 'IPCEZ_ERR_ACK_TIMEOUT')) return expect.unreachable('the code matches');
    expectTypeOf(timeout).toEqualTypeOf<RecipientAckTimeoutError>();
    expect(timeout.timeoutMs).toBe(5);

    const io = caught();
    if (isIpcezError(io, 'IPCEZ_ERR_IO')) {
      expectTypeOf(io.osCode).toEqualTypeOf<string | undefined>();
      expect.unreachable('the code differs');
    }

    const any = caught();
    if (!isIpcezError(any)) return expect.unreachable('an ipcez code');
    // @ts-expect-error without a code, only the base class is known
    expect(any.timeoutMs).toBe(5);
  });

  it('every error code has its class in IpcezErrorClasses', () => {
    expectTypeOf<keyof IpcezErrorClasses>().toEqualTypeOf<IpcezErrorCode>();
    expectTypeOf<IpcezErrorClasses['IPCEZ_ERR_ACK_TIMEOUT']['code']>().toEqualTypeOf<'IPCEZ_ERR_ACK_TIMEOUT'>();
  });
});
