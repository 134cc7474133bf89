export { describeTransportConformance } from './describe-transport-conformance.js';
export type { ConformanceSubject, PartialFramePeer } from './describe-transport-conformance.js';
export { Collector } from './collector.js';
export { STREAM_PARTIAL_FRAME_PEER, STREAM_PARTIAL_FRAME_BYTES } from './peer-scripts.js';
