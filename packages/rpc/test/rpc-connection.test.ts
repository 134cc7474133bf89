import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectReconnecting, listen } from 'ipcez';
import type { Server } from 'ipcez';
import {
  createRpcConnection,
  InvalidResponseError,
  JSONRPC_ERROR_CODES,
  notificationType,
  requestType,
  RequestTimeoutError,
  ResponseError,
  TooManyPendingRequestsError,
} from '@ipcez/rpc';
import type { RpcConnection } from '@ipcez/rpc';
import { deferred, local, nextJson, socketPair } from './helpers.js';
import type { SocketPair } from './helpers.js';

// One contract module shared by both ends, as an application would.
const add = requestType<{ a: number; b: number }, number>('math/add');
const now = requestType<undefined, string>('clock/now');
const wait = requestType<{ ms: number; tag: string }, string>('wait');
const progress = notificationType<{ done: number }>('job/progress');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rpcPair(
  kind: 'unix' | 'ws',
  options: Parameters<typeof createRpcConnection>[1] = {},
  ack = false,
): Promise<{ client: RpcConnection; server: RpcConnection; pair: SocketPair }> {
  const pair = await socketPair(kind, ack);
  cleanups.push(() => pair.close());
  return { client: createRpcConnection(pair.client, options), server: createRpcConnection(pair.server, options), pair };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(['unix', 'ws'] as const)('JSON-RPC over a real %s socket pair', (kind) => {
  it('answers typed requests and delivers notifications in order, both ways', async () => {
    const { client, server } = await rpcPair(kind);
    server.onRequest(add, ({ a, b }) => a + b);
    server.onRequest(now, async () => {
      await sleep(1);
      return 'noon';
    });
    const seen: number[] = [];
    server.onNotification(progress, ({ done }) => seen.push(done));
    client.onRequest('whoami', () => 'the client');

    const sum: number = await client.request(add, { a: 2, b: 3 });
    expect(sum).toBe(5);
    expect(await client.request(now)).toBe('noon');
    for (let i = 0; i < 5; i++) await client.notify(progress, { done: i });
    // The server can request too, on the same connection.
    expect(await server.request('whoami')).toBe('the client');
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(client.pendingRequests).toBe(0);
    expect(server.runningHandlers).toBe(0);
  });

  it('matches many requests in flight by id when replies come back out of order', async () => {
    const { client, server } = await rpcPair(kind);
    // Replies are released in the reverse order of arrival.
    const releases: (() => void)[] = [];
    const count = 50;
    server.onRequest(wait, ({ tag }) => {
      const { promise, resolve } = deferred<string>();
      releases.push(() => {
        resolve(`done ${tag}`);
      });
      if (releases.length === count) for (const release of releases.toReversed()) release();
      return promise;
    });
    const results = await Promise.all(
      Array.from({ length: count }, (_, i) => client.request(wait, { ms: 0, tag: String(i) })),
    );
    expect(results).toEqual(Array.from({ length: count }, (_, i) => `done ${i}`));
  });

  it('turns handler errors into error replies: ResponseError keeps code and data, others are -32603', async () => {
    const { client, server } = await rpcPair(kind);
    server.onRequest('strict', () => {
      throw new ResponseError(JSONRPC_ERROR_CODES.InvalidParams, 'a must be positive', { field: 'a' });
    });
    server.onRequest('crash', async () => {
      await sleep(1);
      throw new Error('disk on fire');
    });
    const strict = await client.request('strict', {}).catch((e: unknown) => e);
    expect(strict).toBeInstanceOf(ResponseError);
    expect(strict).toMatchObject({
      code: 'IPCEZ_ERR_RPC_RESPONSE',
      rpcCode: -32602,
      message: 'a must be positive',
      data: { field: 'a' },
    });
    await expect(client.request('crash')).rejects.toMatchObject({ rpcCode: -32603, message: 'disk on fire' });
    await expect(client.request('missing', [1])).rejects.toMatchObject({
      code: 'IPCEZ_ERR_RPC_RESPONSE',
      rpcCode: -32601,
    });
  });

  it("cancels with the requester's signal: the request rejects with the reason and the handler's signal aborts", async () => {
    const { client, server } = await rpcPair(kind);
    const handlerAborted = deferred<unknown>();
    const started = deferred<undefined>();
    server.onRequest('slow', (_params, { signal }) => {
      started.resolve(undefined);
      signal.addEventListener('abort', () => {
        handlerAborted.resolve(signal.reason);
      });
      return new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          reject(signal.reason as Error);
        });
      });
    });
    const controller = new AbortController();
    const pending = client.request('slow', undefined, { signal: controller.signal });
    await started.promise;
    const reason = new Error('user gave up');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(await handlerAborted.promise).toMatchObject({ rpcCode: JSONRPC_ERROR_CODES.RequestCancelled });
    expect(client.pendingRequests).toBe(0);
    // The handler's late error reply is dropped; the connection keeps working.
    server.onRequest(add, ({ a, b }) => a + b);
    expect(await client.request(add, { a: 1, b: 1 })).toBe(2);
    expect(server.runningHandlers).toBe(0);
  });

  it('times out a request with RequestTimeoutError and cancels it on the peer', async () => {
    const { client, server } = await rpcPair(kind);
    const aborted = deferred<undefined>();
    server.onRequest('never', (_p, { signal }) => {
      signal.addEventListener('abort', () => {
        aborted.resolve(undefined);
      });
      return new Promise(() => undefined);
    });
    const error = await client.request('never', [], { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_RPC_TIMEOUT', method: 'never', timeoutMs: 50 });
    await aborted.promise;
  });

  it('rejects every pending request at once with the connection error when the connection is lost', async () => {
    const { client, server, pair } = await rpcPair(kind);
    let started = 0;
    const allStarted = deferred<undefined>();
    server.onRequest('hang', () => {
      if (++started === 10) allStarted.resolve(undefined);
      return new Promise(() => undefined);
    });
    const closed = deferred<Error>();
    client.onClose(closed.resolve);
    const pending = Array.from({ length: 10 }, () => client.request('hang').catch((e: unknown) => e));
    await allStarted.promise;
    await pair.server.disconnect();
    const errors = await Promise.all(pending);
    for (const e of errors) expect(e).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST' });
    expect(await closed.promise).toBe(errors[0]);
    expect(client.state).toBe('closed');
    expect(client.pendingRequests).toBe(0);
    await expect(client.request('hang')).rejects.toBe(errors[0]);
    await expect(client.notify('x')).rejects.toBe(errors[0]);
  });
});

describe('bounded memory', () => {
  it('rejects a request past maxPendingRequests with TooManyPendingRequestsError, sending nothing', async () => {
    const { client, server } = await rpcPair('unix', { maxPendingRequests: 3 });
    const received: unknown[] = [];
    server.onRequest('hold', (params) => {
      received.push(params);
      return new Promise(() => undefined);
    });
    const held = [1, 2, 3].map((n) => client.request('hold', [n]).catch(() => undefined));
    const refused = await client.request('hold', [4]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TooManyPendingRequestsError);
    expect(refused).toMatchObject({ code: 'IPCEZ_ERR_RPC_TOO_MANY_PENDING', limit: 3 });
    // A round trip in the other direction proves the first three arrived and the fourth never did.
    client.onRequest('sync', () => true);
    await server.request('sync');
    expect(received).toEqual([[1], [2], [3]]);
    await client.close();
    await Promise.all(held);
  });

  it('answers -32000 (ServerBusy) without running the handler past maxConcurrentHandlers', async () => {
    const { client, server } = await rpcPair('unix', { maxConcurrentHandlers: 2 });
    let runs = 0;
    const gate = deferred<undefined>();
    server.onRequest('work', async () => {
      runs++;
      await gate.promise;
      return 'ok';
    });
    const first = client.request('work');
    const second = client.request('work');
    const third = await client.request('work').catch((e: unknown) => e);
    expect(third).toMatchObject({ code: 'IPCEZ_ERR_RPC_RESPONSE', rpcCode: JSONRPC_ERROR_CODES.ServerBusy });
    expect(runs).toBe(2);
    gate.resolve(undefined);
    expect(await Promise.all([first, second])).toEqual(['ok', 'ok']);
    // Slots are free again.
    expect(await client.request('work')).toBe('ok');
  });
});

describe('defaults and late subscribers', () => {
  it('applies defaultTimeoutMs to requests without their own, and onClose after the end still reports it', async () => {
    const { client, server, pair } = await rpcPair('unix', { defaultTimeoutMs: 30 });
    server.onRequest('hang', () => new Promise(() => undefined));
    await expect(client.request('hang')).rejects.toMatchObject({ code: 'IPCEZ_ERR_RPC_TIMEOUT', timeoutMs: 30 });
    await pair.client.disconnect();
    while (client.state === 'open') await sleep(5);
    const late = deferred<Error>();
    client.onClose(late.resolve);
    expect(await late.promise).toMatchObject({ code: 'IPCEZ_ERR_CONNECTION_LOST', reason: 'local-close' });
    const dropped = client.onClose(() => {
      throw new Error('a disposed onClose handler was called');
    });
    dropped[Symbol.dispose]();
    await sleep(5);
  });
});

describe('the wire, read raw on the other end', () => {
  async function rawServer(): Promise<{
    client: RpcConnection;
    send: (text: string) => Promise<void>;
    next: () => Promise<unknown>;
  }> {
    const pair = await socketPair('unix');
    cleanups.push(() => pair.close());
    const client = createRpcConnection(pair.client);
    const next = nextJson(pair.server);
    return { client, send: (text) => pair.server.sendMessage(text), next };
  }

  it('sends one JSON-RPC 2.0 message per ipcez message, params omitted when undefined', async () => {
    const { client, send, next } = await rawServer();
    const result = client.request(add, { a: 1, b: 2 });
    expect(await next()).toEqual({ jsonrpc: '2.0', id: 1, method: 'math/add', params: { a: 1, b: 2 } });
    await send(JSON.stringify({ jsonrpc: '2.0', id: 1, result: 3 }));
    expect(await result).toBe(3);
    await client.notify('ping');
    expect(await next()).toEqual({ jsonrpc: '2.0', method: 'ping' });
    const controller = new AbortController();
    const cancelled = client.request('slow', [], { signal: controller.signal }).catch(() => undefined);
    expect(await next()).toMatchObject({ id: 2, method: 'slow' });
    controller.abort();
    expect(await next()).toEqual({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 2 } });
    await cancelled;
  });

  it('answers -32700 to invalid JSON and invalid UTF-8, -32600 to invalid requests, with id null', async () => {
    const { send, next, client } = await rawServer();
    client.onRequest('echo', (p) => p);
    await send('{"jsonrpc": "2.0", "method": "echo", "params": [1, 2');
    expect(await next()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    await send(JSON.stringify({ jsonrpc: '2.0', method: 1, params: 'bar' }));
    expect(await next()).toMatchObject({ id: null, error: { code: -32600 } });
    await send(JSON.stringify({ jsonrpc: '1.0', id: 7, method: 'echo' }));
    expect(await next()).toMatchObject({ id: 7, error: { code: -32600 } });
    await send(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'echo', params: 5 }));
    expect(await next()).toMatchObject({ id: 8, error: { code: -32600 } });
    await send(JSON.stringify({ jsonrpc: '2.0', id: { no: 1 }, method: 'echo' }));
    expect(await next()).toMatchObject({ id: null, error: { code: -32600 } });
    await send('"just a string"');
    expect(await next()).toMatchObject({ id: null, error: { code: -32600 } });
    // A string id is echoed as is.
    await send(JSON.stringify({ jsonrpc: '2.0', id: 'abc', method: 'echo', params: ['x'] }));
    expect(await next()).toEqual({ jsonrpc: '2.0', id: 'abc', result: ['x'] });
  });

  it('answers a batch with one array of replies, none for notifications, -32600 for an empty batch', async () => {
    const { send, next, client } = await rawServer();
    const notes: unknown[] = [];
    client.onRequest('echo', async (p) => {
      await sleep(1);
      return p;
    });
    client.onNotification('note', (p) => notes.push(p));
    await send(
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'echo', params: [1] },
        { jsonrpc: '2.0', method: 'note', params: ['a'] },
        { jsonrpc: '2.0', id: 2, method: 'nope' },
        1,
      ]),
    );
    expect(await next()).toEqual([
      { jsonrpc: '2.0', id: 1, result: [1] },
      { jsonrpc: '2.0', id: 2, error: { code: -32601, message: 'Method not found: nope' } },
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: not an object' } },
    ]);
    expect(notes).toEqual([['a']]);
    await send('[]');
    expect(await next()).toMatchObject({ id: null, error: { code: -32600 } });
    // A batch of notifications only gets no reply: the next reply is to the next request.
    await send(JSON.stringify([{ jsonrpc: '2.0', method: 'note', params: ['b'] }]));
    await send(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'echo', params: [3] }));
    expect(await next()).toEqual({ jsonrpc: '2.0', id: 3, result: [3] });
    expect(notes).toEqual([['a'], ['b']]);
  });

  it('rejects a malformed reply with InvalidResponseError and drops replies to unknown ids', async () => {
    const { send, next, client } = await rawServer();
    const bad = client.request('x');
    await next();
    await send(JSON.stringify({ jsonrpc: '2.0', id: 99, result: 'nobody asked' }));
    await send(JSON.stringify({ jsonrpc: '2.0', id: 1, error: { message: 'no code' } }));
    const error = await bad.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error).toMatchObject({ code: 'IPCEZ_ERR_RPC_INVALID_RESPONSE' });
    const both = client.request('y');
    await next();
    await send(JSON.stringify({ jsonrpc: '2.0', id: 2, result: 1, error: { code: 1, message: 'm' } }));
    await expect(both).rejects.toMatchObject({ code: 'IPCEZ_ERR_RPC_INVALID_RESPONSE' });
  });

  it('replaces a result too large for one message, or not serializable, with -32603', async () => {
    const { send, next, client } = await rawServer();
    client.onRequest('big', () => 'x'.repeat(5 * 1024 * 1024));
    client.onRequest('bigint', () => ({ n: 1n }));
    await send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'big' }));
    expect(await next()).toMatchObject({ id: 1, error: { code: -32603 } });
    await send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'bigint' }));
    expect(await next()).toMatchObject({ id: 2, error: { code: -32603 } });
  });
});

describe('with delivery acknowledgement on (the ipcez default locally)', () => {
  it('works the same over an acked Unix socket', async () => {
    const { client, server } = await rpcPair('unix', {}, true);
    server.onRequest(add, ({ a, b }) => a + b);
    const sums = await Promise.all(Array.from({ length: 20 }, (_, i) => client.request(add, { a: i, b: i })));
    expect(sums).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i));
  });
});

describe('argument checks', () => {
  it('throws IPCEZ_ERR_INVALID_ARG synchronously for bad methods, params and options', async () => {
    const { client } = await rpcPair('unix');
    const invalid = { code: 'IPCEZ_ERR_INVALID_ARG' };
    expect(() => client.request('', [])).toThrow(expect.objectContaining(invalid));
    expect(() => client.request('m', 5)).toThrow(TypeError);
    expect(() => client.request('m', null)).toThrow(expect.objectContaining(invalid));
    expect(() => client.request('m', { n: 1n })).toThrow(expect.objectContaining(invalid));
    expect(() => client.request('m', [], { timeoutMs: 0 })).toThrow(RangeError);
    expect(() => client.notify('m', 'text')).toThrow(expect.objectContaining(invalid));
    expect(() => createRpcConnection(client as never, { maxPendingRequests: 0 })).toThrow(RangeError);
    client.onRequest('m', () => 1);
    expect(() => client.onRequest('m', () => 2)).toThrow(expect.objectContaining(invalid));
    expect(() => client.onNotification('$/cancelRequest', () => undefined)).toThrow(expect.objectContaining(invalid));
    expect(() => requestType('')).toThrow(expect.objectContaining(invalid));
    expect(() => new ResponseError(1.5, 'x')).toThrow(expect.objectContaining(invalid));
    expect(client.pendingRequests).toBe(0);
  });

  it('removes a handler with its disposable, after which the method is unknown', async () => {
    const { client, server } = await rpcPair('unix');
    const registration = server.onRequest('m', () => 1);
    expect(await client.request('m')).toBe(1);
    registration[Symbol.dispose]();
    registration[Symbol.dispose]();
    await expect(client.request('m')).rejects.toMatchObject({ rpcCode: -32601 });
  });
});

describe('typed method definitions', () => {
  it('type params and results from one contract (checked by the typecheck; run here too)', async () => {
    const { client, server } = await rpcPair('unix');
    server.onRequest(add, (params) => {
      // @ts-expect-error params are { a: number; b: number }: no such field
      const missing: unknown = params.c;
      expect(missing).toBeUndefined();
      return params.a + params.b;
    });
    // @ts-expect-error the handler must return a number (or a promise of one)
    expect(() => server.onRequest(add, () => 'text')).toThrow(
      expect.objectContaining({ code: 'IPCEZ_ERR_INVALID_ARG' }),
    );
    const sum: number = await client.request(add, { a: 1, b: 2 });
    expect(sum).toBe(3);
    // @ts-expect-error b must be a number
    await client.request(add, { a: 1, b: '2' }).catch(() => undefined);
    // @ts-expect-error progress takes { done: number }
    await client.notify(progress, { done: 'all' });
    // @ts-expect-error the result is a string, not a number
    const wrong: number = await client.request(now).catch(() => 0);
    expect(typeof wrong).toBe('number');
    expect(now).toEqual({ method: 'clock/now' });
    expect(Object.isFrozen(add)).toBe(true);
  });
});

describe('over a reconnecting socket', () => {
  it('keeps working across a server restart; a request sent before the loss times out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipcez-rpc-re-'));
    const path = join(dir, 's.sock');
    const serve = async (): Promise<Server> => {
      const server = await listen(path, { ...local, ack: false });
      server.connectionHandler((socket) => {
        const rpc = createRpcConnection(socket);
        rpc.onRequest(add, ({ a, b }) => a + b);
        rpc.onRequest('hang', () => new Promise(() => undefined));
      });
      return server;
    };
    let server = await serve();
    const socket = await connectReconnecting(path, {
      ...local,
      ack: false,
      reconnect: { attempts: 100, maxDelayMs: 50 },
    });
    cleanups.push(async () => {
      await socket.disconnect();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const rpc = createRpcConnection(socket);
    expect(await rpc.request(add, { a: 1, b: 1 })).toBe(2);
    const hanging = rpc.request('hang', [], { timeoutMs: 300 }).catch((e: unknown) => e);
    await sleep(20);
    await server.close();
    while (socket.state !== 'reconnecting') await sleep(5);
    const during = rpc.request(add, { a: 2, b: 2 });
    server = await serve();
    expect(await during).toBe(4);
    expect(await hanging).toMatchObject({ code: 'IPCEZ_ERR_RPC_TIMEOUT' });
    expect(rpc.state).toBe('open');
  });
});
