// Filled by the local-transports work (issue 3): describeTransportConformance(name, makePair).
export {};
