export { connect, listen } from './api.js';
export type { ConnectOptions, ListenOptions } from './options.js';
export type { RetryOptions } from './retry.js';
export { connectReconnecting } from './reconnecting-socket.js';
export type { ReconnectingSocket, ReconnectOptions, ReconnectingConnectOptions } from './reconnecting-socket.js';
export type { BroadcastResult } from './connection-set.js';
export type { Socket, SendMessageOptions, AckMode } from './socket.js';
export type { Server } from './server.js';
export { detectTransport, isWebSocketUrl, TARGETS, OSES } from './detect.js';
export type { Detection, DetectOptions, DetectionSource, Target, Os } from './detect.js';
export { diagnose } from './diagnose.js';
export type { Diagnosis, DiagnoseOptions } from './diagnose.js';
export type { Leftover, Liveness } from './leftovers.js';
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
  ReconnectFailedError,
  SendTimeoutError,
  ProtocolError,
  ConnectionLimitError,
  PartialFrameLimitError,
  FrameTimeoutError,
  IdleTimeoutError,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_PARTIAL_BYTES,
  DEFAULT_FRAME_TIMEOUT_MS,
  IPCEZ_ERROR_CODES,
  isIpcezError,
} from '@ipcez/core';
export type {
  IpcezErrorCode,
  IpcezErrorClasses,
  ConnectionLostReason,
  MessageResult,
  MessageHandler,
  TransportKind,
} from '@ipcez/core';
export { MAX_MESSAGE_BYTES, PROTOCOL_VERSION } from '@ipcez/framing';
