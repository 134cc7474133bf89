import { describe, expect, it } from 'vitest';
import { FrameTooLargeError, IpcezError } from '@ipcez/framing';

describe('errors', () => {
  it.each([
    {
      make: () => new FrameTooLargeError(5_000_000, 4_194_304, 'sent'),
      name: 'FrameTooLargeError',
      code: 'IPCEZ_ERR_FRAME_TOO_LARGE',
      fields: { size: 5_000_000, limit: 4_194_304 },
      message: 'message of 5000000 bytes exceeds the limit of 4194304 bytes',
    },
    {
      make: () => new FrameTooLargeError(0xffffffff, 1_000, 'announced'),
      name: 'FrameTooLargeError',
      code: 'IPCEZ_ERR_FRAME_TOO_LARGE',
      fields: { size: 0xffffffff, limit: 1_000 },
      message: 'frame header announces 4294967295 bytes, which exceeds the limit of 1000 bytes',
    },
    {
      make: () => new FrameTooLargeError(11, 10),
      name: 'FrameTooLargeError',
      code: 'IPCEZ_ERR_FRAME_TOO_LARGE',
      fields: { size: 11, limit: 10 },
      message: 'message of 11 bytes exceeds the limit of 10 bytes',
    },
  ])(
    '$name has code $code, its fields, IpcezError and Error as base classes, and a message naming size and limit',
    (row) => {
      const error = row.make();
      expect(error).toBeInstanceOf(IpcezError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(row.name);
      expect(error.code).toBe(row.code);
      expect(error).toMatchObject(row.fields);
      expect(error.message).toBe(row.message);
    },
  );

  it('names a subclass of IpcezError after the subclass and keeps the cause', () => {
    class ExampleError extends IpcezError {
      readonly code = 'IPCEZ_ERR_EXAMPLE';
    }
    const cause = new Error('underlying');
    const error = new ExampleError('wrapped', { cause });
    expect(error.name).toBe('ExampleError');
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(IpcezError);
  });
});
