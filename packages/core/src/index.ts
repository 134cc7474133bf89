export { IpcezError, FrameTooLargeError } from '@ipcez/framing';
export {
  IPCEZ_ERROR_CODES,
  IoError,
  ConnectionLostError,
  WsError,
  DetectionError,
  UnsupportedCombinationError,
  RecipientAckTimeoutError,
  EndpointInUseError,
  UnsupportedPlatformError,
  InvalidEndpointError,
  SendBufferFullError,
  AckUnavailableError,
  isIpcezError,
  invalidArgError,
} from './errors.js';
export type { IpcezErrorCode, IpcezErrorClasses, IoErrorOptions, ConnectionLostReason } from './errors.js';
export { DEFAULT_HIGH_WATER_MARK } from './contracts.js';
export type {
  TransportKind,
  ConnectionState,
  MessageResult,
  MessageHandler,
  SendOptions,
  Connection,
  Listener,
  ConnectOptions,
  ListenOptions,
  Transport,
} from './contracts.js';
export { Inbox } from './inbox.js';
export type { InboxResult, InboxOptions } from './inbox.js';
