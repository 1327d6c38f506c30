import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, loadConfig } from '../../src/core/index.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, log: createLogger({ destination, level: 'info', pretty: false }) };
}

describe('logging', () => {
  it('writes structured JSON with secrets redacted by key, by value and by shape', () => {
    loadConfig({ GITHUB_WEBHOOK_SECRET: 'whsec-registered-value-42' });
    const { lines, log } = capture();
    log.info(
      {
        headers: { authorization: 'Bearer abc.def.ghi' },
        body: 'got xoxb-1234567890-abcdefghij and ghp_abcdefghijklmnopqrstuvwxyz0123',
        nested: { apiKey: 'sk-ant-api03-zzzzzzzzzzzz' },
        echo: 'the secret is whsec-registered-value-42',
      },
      'request from mongodb://deckhand:pa55word@db:27017',
    );
    const text = lines.join('');
    const record = JSON.parse(text) as Record<string, unknown>;
    expect(record.level).toBe(30);
    for (const secret of [
      'abc.def.ghi',
      'xoxb-1234567890',
      'ghp_abcdef',
      'sk-ant-api03',
      'whsec-registered-value-42',
      'pa55word',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('[redacted]');
    expect(record.msg).toBe('request from mongodb://deckhand:[redacted]@db:27017');
  });

  it('redacts secrets inside logged errors', () => {
    const { lines, log } = capture();
    log.error({ err: new Error('auth failed for token xoxb-9999999999-zzzzzzzzzz') }, 'boom');
    expect(lines.join('')).not.toContain('xoxb-9999999999');
  });
});
