import { describeTransportConformance } from '@ipcez/conformance';
import { pipeTransport } from '@ipcez/transport-pipe';

import { uniquePipeName } from './pipe-names.js';

// Registered as skipped outside Windows (pipeTransport.isSupported() is false there); on the
// Windows lane (`pnpm test:windows`, node.exe under wine) every scenario runs.
describeTransportConformance('pipe', {
  transport: pipeTransport,
  makeEndpoint: () => uniquePipeName('conf'),
});
