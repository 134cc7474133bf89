export { createRpcConnection, CANCEL_REQUEST_METHOD } from './rpc-connection.js';
export type {
  RpcConnection,
  RpcConnectionOptions,
  RpcSocket,
  RpcSocketResult,
  RpcId,
  RequestOptions,
  RequestContext,
  RequestHandler,
  NotificationHandler,
} from './rpc-connection.js';
export { requestType, notificationType } from './method-types.js';
export type { RequestType, NotificationType } from './method-types.js';
export {
  ResponseError,
  RequestTimeoutError,
  TooManyPendingRequestsError,
  InvalidResponseError,
  JSONRPC_ERROR_CODES,
  RPC_ERROR_CODES,
} from './errors.js';
export type { RpcErrorCode } from './errors.js';
