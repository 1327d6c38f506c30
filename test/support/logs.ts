/** A logger whose JSON lines a test can read back (debug and up), to assert what was logged and why. */
import { Writable } from 'node:stream';
import { createLogger } from '../../src/core/index.js';

export function captureLogs() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', pretty: false, destination }) };
}
