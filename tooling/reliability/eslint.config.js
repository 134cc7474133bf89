import { ipcezEslint } from '@ipcez/tooling/eslint';

export default ipcezEslint(import.meta.dirname, { allowConsole: true });
