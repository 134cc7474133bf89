import { invalidArgError } from '@ipcez/core';

/**
 * A request method with its parameter and result types, shared by both ends through one
 * contract module (as vscode-jsonrpc's `RequestType<P, R>`). The types exist only at compile
 * time; at run time it is `{ method }`.
 *
 * @typeParam P - the `params`: an object or an array (JSON-RPC "structured" params), or `undefined` (or `void`) for none.
 * @typeParam R - the `result`: any JSON value (a handler returning `undefined` replies `null`).
 */
export interface RequestType<P, R> {
  /** The JSON-RPC method name. */
  readonly method: string;
  /** Compile-time only: never set. */
  readonly '~types'?: {
    /** The params' type. */
    readonly params: P;
    /** The result's type. */
    readonly result: R;
  };
}

/**
 * A notification method with its parameter type (as vscode-jsonrpc's `NotificationType<P>`).
 *
 * @typeParam P - the `params`: an object or an array, or `undefined` (or `void`) for none.
 */
export interface NotificationType<P> {
  /** The JSON-RPC method name. */
  readonly method: string;
  /** Compile-time only: never set. */
  readonly '~types'?: {
    /** The params' type. */
    readonly params: P;
  };
}

function checkMethod(method: unknown): string {
  if (typeof method !== 'string' || method.length === 0) {
    throw invalidArgError(`method must be a non-empty string, got ${JSON.stringify(method)}`);
  }
  return method;
}

/**
 * Declares a request method for a shared contract module.
 *
 * @param method - the JSON-RPC method name.
 * @returns a frozen {@link RequestType}.
 * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when `method` is not a non-empty string.
 * @example
 * ```ts
 * export const add = requestType<{ a: number; b: number }, number>('math/add');
 * // client: const sum = await rpc.request(add, { a: 1, b: 2 });   // sum: number
 * // server: rpc.onRequest(add, ({ a, b }) => a + b);
 * ```
 */
export function requestType<P = undefined, R = unknown>(method: string): RequestType<P, R> {
  return Object.freeze({ method: checkMethod(method) });
}

/**
 * Declares a notification method for a shared contract module.
 *
 * @param method - the JSON-RPC method name.
 * @returns a frozen {@link NotificationType}.
 * @throws TypeError (`IPCEZ_ERR_INVALID_ARG`) when `method` is not a non-empty string.
 * @example
 * ```ts
 * export const progress = notificationType<{ done: number }>('job/progress');
 * ```
 */
export function notificationType<P = undefined>(method: string): NotificationType<P> {
  return Object.freeze({ method: checkMethod(method) });
}

/** Internal: the method name of a string or a method type, checked. */
export function methodName(type: string | { readonly method: string }): string {
  return checkMethod(typeof type === 'string' ? type : (type as { method?: unknown } | null)?.method);
}
