export { deriveSignalNames, READY_SUFFIX, ACKED_SUFFIX, V2_MARKER_SUFFIX } from './signal-names.js';
export type { SignalNames, SignalPlatform } from './signal-names.js';
export { canonicalSocketPath } from './canonical-socket-path.js';
export { SignalPair, openSignalPair, hasV2Marker } from './signal-pair.js';
export type { SignalPairRole, SignalPairState, SignalNamespace, OpenSignalPairOptions } from './signal-pair.js';
export { withAcks, DEFAULT_ACK_TIMEOUT_MS } from './with-acks.js';
export type { WithAcksOptions } from './with-acks.js';
export { acquireListenerLock } from './listener-lock.js';
export type { ListenerLock, ListenerLockOptions } from './listener-lock.js';
