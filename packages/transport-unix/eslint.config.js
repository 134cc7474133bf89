import { ipcezEslint } from '@ipcez/tooling/eslint';

export default ipcezEslint(import.meta.dirname, {
  forbidImports: ['@ipcez/transport-pipe', '@ipcez/transport-ws', '@ipcez/ack', 'ipcez'],
});
