export { connect, listen } from './browser-api.js';
export type { BrowserConnectOptions } from './browser-api.js';
export type { Socket, SendMessageOptions } from './socket.js';
export {
  IpcezError,
  IoError,
  ConnectionLostError,
  WsError,
  FrameTooLargeError,
  DetectionError,
  UnsupportedCombinationError,
  RecipientAckTimeoutError,
  EndpointInUseError,
  UnsupportedPlatformError,
  InvalidEndpointError,
  SendBufferFullError,
  AckUnavailableError,
  IPCEZ_ERROR_CODES,
  isIpcezError,
} from '@ipcez/core';
export type { IpcezErrorCode, ConnectionLostReason, MessageResult, MessageHandler, TransportKind } from '@ipcez/core';
export { MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from '@ipcez/framing';
