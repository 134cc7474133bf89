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
  ProtocolError,
  isIpcezError,
  invalidArgError,
} from './errors.js';
export type { IpcezErrorCode, IpcezErrorClasses, IoErrorOptions, ConnectionLostReason } from './errors.js';
export {
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_FRAME_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_PARTIAL_BYTES,
} from './constants.js';
export { describeValue } from './describe-value.js';
export { resolveCommonOptions, resolveListenerLimits, integerOption } from './options.js';
export type { ResolvedCommonOptions, ResolvedListenerLimits } from './options.js';
export { MessageConnection } from './engine/message-connection.js';
export { ForwardingConnection } from './forwarding-connection.js';
export type { MessageConnectionOptions } from './engine/message-connection.js';
export type { Link, LinkSink } from './engine/link.js';
export { MessageLink } from './engine/message-link.js';
export type { MessageSocket, MessageSocketSink, MessageLinkSettings } from './engine/message-link.js';
export { PauseAuthority } from './engine/pause-authority.js';
export type { PauseReason } from './engine/pause-authority.js';
export { ListenerCore } from './engine/listener-core.js';
export type { ListenerCoreOptions } from './engine/listener-core.js';
export { ReconnectFailedError, SendTimeoutError } from './reconnect-errors.js';
export { ConnectionLimitError, PartialFrameLimitError, FrameTimeoutError, IdleTimeoutError } from './limit-errors.js';
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
export { InBandAcks, ackHeader } from './v2/in-band-acks.js';
export {
  negotiateClient,
  negotiateServer,
  awaitHelloReply,
  sendHelloReply,
  HELLO_V2,
  HELLO_REPLY_V2,
  HELLO_REPLY_SEED,
  DEFAULT_NEGOTIATION_TIMEOUT_MS,
} from './v2/negotiate.js';
export type { ClientNegotiation, ServerNegotiation } from './v2/negotiate.js';
