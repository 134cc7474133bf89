import { readFileSync } from 'node:fs';
import { ipcezVitest } from '@ipcez/tooling/vitest';
import { mergeConfig } from 'vitest/config';

// The framing tests compile with `types: []` and may not import node:* (the package is
// neutral), so the two text files they check (README.md against src/index.ts) are read
// here and handed over as globals.
const read = (file) => readFileSync(new URL(file, import.meta.url), 'utf8');

export default mergeConfig(ipcezVitest(), {
  define: {
    __FRAMING_README__: JSON.stringify(read('./README.md')),
    __FRAMING_INDEX_TS__: JSON.stringify(read('./src/index.ts')),
  },
});
