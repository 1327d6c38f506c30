/** `npm run bench -- NAME`: runs one benchmark; its last output line is one JSON object. */
import { benchDigests } from './digests.js';
import { benchIngest } from './ingest.js';
import { benchSandbox } from './sandbox.js';
import { benchStore } from './store.js';
import { benchTurn } from './turn.js';

const benches: Record<string, () => Promise<Record<string, unknown>>> = {
  store: benchStore,
  sandbox: benchSandbox,
  ingest: benchIngest,
  digests: benchDigests,
  turn: benchTurn,
};

const name = process.argv[2];
const bench = name ? benches[name] : undefined;
if (!bench) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}>`);
  process.exit(2);
}
const result = await bench();
console.log(JSON.stringify(result));
process.exit(0);
