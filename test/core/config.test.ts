import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, requireSecret } from '../../src/core/index.js';

const dir = mkdtempSync(join(tmpdir(), 'deckhand-config-'));

describe('configuration', () => {
  it('loads the defaults into one typed object', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.tasks).toMatchObject({ leaseMs: 60_000, maxAttempts: 3 });
    expect(config.secrets).toEqual({});
  });

  it('lets the environment override YAML and a second YAML file override the defaults', () => {
    const extra = join(dir, 'extra.yaml');
    writeFileSync(extra, 'port: 4000\nsandbox:\n  memoryMb: 1024\n');
    const config = loadConfig({ DECKHAND_CONFIG: extra, PORT: '5000', MONGODB_URI: 'mongodb://db:27017/x' });
    expect(config.port).toBe(5000);
    expect(config.sandbox.memoryMb).toBe(1024);
    expect(config.sandbox.cpus).toBe(1);
    expect(config.store.uri).toBe('mongodb://db:27017/x');
  });

  it('refuses a secret written into YAML instead of silently ignoring it', () => {
    const bad = join(dir, 'secret.yaml');
    writeFileSync(bad, 'slack:\n  botToken: xoxb-oops\n');
    expect(() => loadConfig({ DECKHAND_CONFIG: bad })).toThrow(/slack: Unrecognized key: "botToken"/);
  });

  it('names the setting and the problem for an invalid value', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/port: .*number/i);
  });

  it('reads a secret from the file named by NAME_FILE', () => {
    const file = join(dir, 'token');
    writeFileSync(file, 'xoxb-from-a-file-123456\n');
    expect(loadConfig({ SLACK_BOT_TOKEN_FILE: file }).secrets.SLACK_BOT_TOKEN).toBe(
      'xoxb-from-a-file-123456',
    );
  });

  it('says which variable is missing and how to set it', () => {
    expect(() => requireSecret(loadConfig({}), 'SLACK_SIGNING_SECRET', 'Slack events')).toThrow(
      'Slack events needs SLACK_SIGNING_SECRET. Set it in the environment (export SLACK_SIGNING_SECRET=...) or put it in a file and set SLACK_SIGNING_SECRET_FILE=/path/to/file.',
    );
  });
});
