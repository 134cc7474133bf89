import { ipcezEslint } from '@ipcez/tooling/eslint';

export default ipcezEslint(import.meta.dirname, {
  forbidImports: ['@ipcez/transport-unix', '@ipcez/transport-pipe', '@ipcez/ack', 'ipcez'],
});
