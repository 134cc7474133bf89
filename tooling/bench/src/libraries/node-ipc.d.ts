// The part of node-ipc 12's API the benchmark uses (the package ships no types).
// eslint-disable-next-line no-restricted-syntax -- an ambient module declaration is the only way to type an untyped package
declare module 'node-ipc' {
  import type { Socket } from 'node:net';

  interface NodeIpcConfig {
    id: string;
    silent: boolean;
    retry: number;
    maxRetries: number | boolean;
    maxConnections: number;
  }

  interface NodeIpcServer {
    on(event: 'start', callback: () => void): void;
    on(event: string, callback: (data: unknown, socket: Socket) => void): void;
    emit(socket: Socket, type: string, data?: unknown): void;
    start(): void;
    stop(): void;
  }

  interface NodeIpcClient {
    on(event: 'connect' | 'disconnect', callback: () => void): void;
    on(event: string, callback: (data: unknown) => void): void;
    emit(type: string, data?: unknown): void;
  }

  class IPCModule {
    config: NodeIpcConfig;
    server: NodeIpcServer;
    of: Record<string, NodeIpcClient>;
    serve(path: string, callback: () => void): void;
    connectTo(id: string, path: string, callback: () => void): void;
    disconnect(id: string): void;
  }

  export { IPCModule };
  const singleton: IPCModule;
  export default singleton;
}
