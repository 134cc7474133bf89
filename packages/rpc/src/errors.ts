import { IpcezError, invalidArgError } from '@ipcez/core';

/**
 * The error codes JSON-RPC 2.0 defines, plus the two this package uses from the range the
 * specification leaves to implementations (-32000 to -32099) and the LSP convention for a
 * cancelled request (-32800), which vscode-jsonrpc peers understand.
 */
export const JSONRPC_ERROR_CODES = {
  /** Invalid JSON was received. */
  ParseError: -32700,
  /** The JSON sent is not a valid request object (or an empty batch). */
  InvalidRequest: -32600,
  /** No handler for the method. */
  MethodNotFound: -32601,
  /** Invalid method parameters (for handlers to throw). */
  InvalidParams: -32602,
  /** A handler threw something that is not a {@link ResponseError}, or its result could not be sent. */
  InternalError: -32603,
  /** The responder already runs `maxConcurrentHandlers` request handlers; nothing was run. */
  ServerBusy: -32000,
  /** The request was cancelled (`$/cancelRequest`) and its handler gave up. */
  RequestCancelled: -32800,
} as const;

/** The error codes of `@ipcez/rpc`; match on them, not on `instanceof`. */
export const RPC_ERROR_CODES = [
  'IPCEZ_ERR_RPC_RESPONSE',
  'IPCEZ_ERR_RPC_TIMEOUT',
  'IPCEZ_ERR_RPC_TOO_MANY_PENDING',
  'IPCEZ_ERR_RPC_INVALID_RESPONSE',
] as const;

/** The union of {@link RPC_ERROR_CODES}. */
export type RpcErrorCode = (typeof RPC_ERROR_CODES)[number];

/**
 * A JSON-RPC error reply: what a request rejects with when the peer answered with an error,
 * and what a request handler throws to choose the reply's `code`, `message` and `data`.
 *
 * @example
 * ```ts
 * try { await rpc.request('divide', [1, 0]); }
 * catch (e) { if (e.code === 'IPCEZ_ERR_RPC_RESPONSE' && e.rpcCode === -32602) console.error(e.data); }
 * ```
 */
export class ResponseError extends IpcezError {
  /** Always `'IPCEZ_ERR_RPC_RESPONSE'`. */
  readonly code = 'IPCEZ_ERR_RPC_RESPONSE' as const;
  /** The JSON-RPC error code (an integer; see {@link JSONRPC_ERROR_CODES}). */
  readonly rpcCode: number;
  /** The JSON-RPC error's `data`, when it had one. */
  readonly data: unknown;

  /**
   * @param rpcCode - the JSON-RPC error code, an integer.
   * @param message - the JSON-RPC error message.
   * @param data - optional `data`, any JSON value.
   * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when `rpcCode` is not an integer.
   */
  constructor(rpcCode: number, message: string, data?: unknown) {
    if (!Number.isInteger(rpcCode)) {
      throw invalidArgError(`rpcCode must be an integer, got ${String(rpcCode)}`);
    }
    super(message);
    this.rpcCode = rpcCode;
    this.data = data;
  }
}

/**
 * A request got no reply within its `timeoutMs`. A `$/cancelRequest` was sent to the peer; a
 * reply that arrives later is dropped.
 *
 * @example
 * ```ts
 * if (e.code === 'IPCEZ_ERR_RPC_TIMEOUT') console.warn(`${e.method}: no reply in ${e.timeoutMs} ms`);
 * ```
 */
export class RequestTimeoutError extends IpcezError {
  /** Always `'IPCEZ_ERR_RPC_TIMEOUT'`. */
  readonly code = 'IPCEZ_ERR_RPC_TIMEOUT' as const;
  /** The method requested. */
  readonly method: string;
  /** The timeout that elapsed, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * @param method - the method requested.
   * @param timeoutMs - the timeout that elapsed.
   */
  constructor(method: string, timeoutMs: number) {
    super(`request ${JSON.stringify(method)} got no reply within ${timeoutMs} ms`);
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * `request` was called while `maxPendingRequests` requests already wait for their replies.
 * Nothing was sent.
 *
 * @example
 * ```ts
 * if (e.code === 'IPCEZ_ERR_RPC_TOO_MANY_PENDING') await slowDown();
 * ```
 */
export class TooManyPendingRequestsError extends IpcezError {
  /** Always `'IPCEZ_ERR_RPC_TOO_MANY_PENDING'`. */
  readonly code = 'IPCEZ_ERR_RPC_TOO_MANY_PENDING' as const;
  /** The limit in force. */
  readonly limit: number;

  /** @param limit - the `maxPendingRequests` in force. */
  constructor(limit: number) {
    super(`${limit} requests already wait for replies (maxPendingRequests ${limit}); nothing was sent`);
    this.limit = limit;
  }
}

/**
 * The peer's reply to a pending request is not a valid JSON-RPC 2.0 response (no `result`
 * nor `error`, both, or an `error` without an integer `code` and a string `message`). The
 * request rejects with it; the connection stays open.
 *
 * @example
 * ```ts
 * if (e.code === 'IPCEZ_ERR_RPC_INVALID_RESPONSE') console.error('peer is not speaking JSON-RPC 2.0', e.message);
 * ```
 */
export class InvalidResponseError extends IpcezError {
  /** Always `'IPCEZ_ERR_RPC_INVALID_RESPONSE'`. */
  readonly code = 'IPCEZ_ERR_RPC_INVALID_RESPONSE' as const;

  /** @param detail - what is wrong with the reply. */
  constructor(detail: string) {
    super(`invalid JSON-RPC response: ${detail}`);
  }
}
