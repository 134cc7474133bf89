import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IpcezError } from '@ipcez/core';
import * as rpc from '@ipcez/rpc';

const table = [
  {
    make: () => new rpc.ResponseError(-32602, 'bad', { field: 'a' }),
    name: 'ResponseError',
    code: 'IPCEZ_ERR_RPC_RESPONSE',
    fields: { rpcCode: -32602, data: { field: 'a' }, message: 'bad' },
  },
  {
    make: () => new rpc.RequestTimeoutError('m', 10),
    name: 'RequestTimeoutError',
    code: 'IPCEZ_ERR_RPC_TIMEOUT',
    fields: { method: 'm', timeoutMs: 10 },
  },
  {
    make: () => new rpc.TooManyPendingRequestsError(3),
    name: 'TooManyPendingRequestsError',
    code: 'IPCEZ_ERR_RPC_TOO_MANY_PENDING',
    fields: { limit: 3 },
  },
  {
    make: () => new rpc.InvalidResponseError('no result'),
    name: 'InvalidResponseError',
    code: 'IPCEZ_ERR_RPC_INVALID_RESPONSE',
    fields: {},
  },
] as const;

describe('@ipcez/rpc error classes', () => {
  it.each(table)('$name has code $code, its name and fields, and extends IpcezError', (row) => {
    const error = row.make();
    expect(error).toBeInstanceOf(IpcezError);
    expect(error.name).toBe(row.name);
    expect(error.code).toBe(row.code);
    for (const [key, value] of Object.entries(row.fields)) {
      expect((error as unknown as Record<string, unknown>)[key]).toEqual(value);
    }
  });

  it('covers every code in RPC_ERROR_CODES exactly once', () => {
    expect(table.map((row) => row.code).sort()).toEqual([...rpc.RPC_ERROR_CODES].sort());
  });
});

describe('the @ipcez/rpc README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const index = readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8');

  it('documents every runtime and type export by name', () => {
    const types = [...index.matchAll(/export type \{([^}]+)\}/g)].flatMap((m) =>
      m[1]!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    for (const name of [...Object.keys(rpc), ...types]) expect(readme, name).toContain(name);
  });

  it('lists every error code in its error table, and every JSON-RPC code it uses', () => {
    const table = readme.slice(readme.indexOf('## Error codes'));
    for (const code of rpc.RPC_ERROR_CODES) expect(table).toContain(`\`${code}\``);
    for (const [name, value] of Object.entries(rpc.JSONRPC_ERROR_CODES)) {
      expect(readme).toContain(`| \`${name}\` | ${value} |`);
    }
  });
});
