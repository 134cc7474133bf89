import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as api from '@ipcez/transport-ws';
import { describe, expect, it } from 'vitest';
import { PACKAGE_DIR } from './helpers.js';

const readme = readFileSync(join(PACKAGE_DIR, 'README.md'), 'utf8');
const errorTable = readme.slice(readme.indexOf('## Error codes'), readme.indexOf('## Compatibility'));

describe('README', () => {
  it('lists in its error table every code the package raises, with its class', () => {
    const raised: [string, string][] = [
      ['IoError', 'IPCEZ_ERR_IO'],
      ['ConnectionLostError', 'IPCEZ_ERR_CONNECTION_LOST'],
      ['WsError', 'IPCEZ_ERR_WS'],
      ['FrameTooLargeError', 'IPCEZ_ERR_FRAME_TOO_LARGE'],
      ['EndpointInUseError', 'IPCEZ_ERR_ENDPOINT_IN_USE'],
      ['InvalidEndpointError', 'IPCEZ_ERR_INVALID_ENDPOINT'],
      ['SendBufferFullError', 'IPCEZ_ERR_SEND_BUFFER_FULL'],
      ['UnsupportedPlatformError', 'IPCEZ_ERR_UNSUPPORTED_PLATFORM'],
      ['RangeError', 'IPCEZ_ERR_INVALID_ARG'],
    ];
    for (const [name, code] of raised) {
      const row = errorTable.split('\n').find((line) => line.includes(`\`${code}\``));
      expect(row, code).toBeDefined();
      expect(row, code).toContain(name);
    }
  });

  it('documents every export under its own heading', () => {
    for (const name of Object.keys(api)) {
      expect(readme, name).toMatch(new RegExp(`^### .*\`${name}[\`(]`, 'm'));
    }
  });
});
