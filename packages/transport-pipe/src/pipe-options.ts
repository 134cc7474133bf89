import type { ConnectOptions, ListenOptions } from '@ipcez/core';

/** Options of `connectPipe`: the options every transport's `connect` takes (see `@ipcez/core`). */
export type PipeConnectOptions = ConnectOptions;

/** Options of `listenPipe`: the options every transport's `listen` takes (see `@ipcez/core`). */
export type PipeListenOptions = ListenOptions;
