/** Pure parts of the runner: stream splitting, the end line, truncation, quoting, paths, labels. */
import { describe, expect, it } from 'vitest';
import { isDeckhandError } from '../../src/core/index.js';
import {
  checkFilePath,
  LABEL_DEADLINE,
  LABEL_OWNER,
  LanguageTable,
  RunOutput,
  reapReason,
  shellQuote,
  truncationNote,
} from '../../src/runners/index.js';

const NONCE = 'c0ffee00c0ffee00c0ffee00';

function frame(stream: number, text: string | Buffer): Buffer {
  const body = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

/** Feeds the bytes one at a time: every boundary (header, body, nonce) gets split somewhere. */
function feedByteByByte(output: RunOutput, bytes: Buffer): void {
  for (let i = 0; i < bytes.length; i++) output.push(bytes.subarray(i, i + 1));
}

describe('run output', () => {
  it('splits stdout from stderr and cuts the end line even when every chunk is one byte', () => {
    const output = new RunOutput(1000, NONCE);
    feedByteByByte(
      output,
      Buffer.concat([
        frame(1, 'hello '),
        frame(2, 'warn\n'),
        frame(1, `world\n${NONCE} 3 0\n`),
        frame(2, `${NONCE} 3 0\n`),
      ]),
    );
    expect(output.complete).toBe(true);
    expect(output.marker).toEqual({ exitCode: 3, oomKills: 0, diskFull: false });
    expect(output.stdout.result()).toEqual({ text: 'hello world\n', truncated: false, bytes: 12 });
    expect(output.stderr.result().text).toBe('warn\n');
  });

  it('finds the end line right after output without a trailing newline, and ignores what follows', () => {
    const output = new RunOutput(1000, NONCE);
    output.push(frame(1, `no newline${NONCE} 0 1 1\nlate background output`));
    output.push(frame(2, `${NONCE} 0 1 1\n`));
    expect(output.marker).toEqual({ exitCode: 0, oomKills: 1, diskFull: true });
    expect(output.stdout.result().text).toBe('no newline');
  });

  it('is not complete until both streams carried the end line', () => {
    const output = new RunOutput(1000, NONCE);
    output.push(frame(2, `${NONCE} 0 0\n`));
    expect(output.complete).toBe(false);
    output.push(frame(1, `late stdout\n${NONCE} 0 0\n`));
    expect(output.complete).toBe(true);
    expect(output.stdout.result().text).toBe('late stdout\n');
  });

  it('truncates at the limit on a character boundary and keeps counting', () => {
    const output = new RunOutput(10, NONCE);
    output.push(frame(1, 'aaaaaaaaa€€€€')); // 9 ASCII bytes, then 3-byte characters
    output.push(frame(1, 'x'.repeat(100_000)));
    const result = output.stdout.result();
    expect(result.truncated).toBe(true);
    expect(result.bytes).toBe(9 + 12 + 100_000);
    expect(result.text).toBe(`aaaaaaaaa${truncationNote(10)}`);
  });

  it('keeps everything when no end line came (killed at the time limit)', () => {
    const output = new RunOutput(100, NONCE);
    output.push(frame(1, 'partial'));
    expect(output.complete).toBe(false);
    expect(output.stdout.result()).toEqual({ text: 'partial', truncated: false, bytes: 7 });
  });
});

describe('languages, paths and labels', () => {
  it('quotes argv so the shell sees exactly those words', () => {
    expect(shellQuote(['python3', "it's", 'a b'])).toBe(`'python3' 'it'\\''s' 'a b'`);
  });

  it('resolves built-in languages, aliases and configured ones', () => {
    const table = new LanguageTable({
      ruby: { image: 'ruby-sandbox:1', command: ['ruby'], fileName: 'main.rb' },
    });
    expect(table.resolve('Python').spec.fileName).toBe('main.py');
    expect(table.resolve('js').name).toBe('node');
    expect(table.resolve('ruby').spec.command).toEqual(['ruby']);
    expect(table.images()).toEqual(['ruby-sandbox:1']);
    expect(() => table.resolve('cobol')).toThrow(/Unknown language "cobol"/);
    expect(() => new LanguageTable({ bad: { command: ['x'], fileName: '../x' } })).toThrow();
  });

  it('accepts only file paths that stay inside the work folder', () => {
    expect(checkFilePath('src/a.py')).toBe('src/a.py');
    expect(checkFilePath('./b/../c.txt')).toBe('c.txt');
    for (const bad of ['', '/etc/passwd', '../x', 'a/../../x', '.']) {
      let error: unknown;
      try {
        checkFilePath(bad);
      } catch (e) {
        error = e;
      }
      expect(isDeckhandError(error, 'BAD_REQUEST'), bad).toBe(true);
    }
  });

  it('reaps only containers past their deadline or whose owner process on this host is gone', () => {
    const now = Date.now();
    const host = 'box';
    const future = String(now + 60_000);
    expect(
      reapReason({ [LABEL_OWNER]: `${host}/${process.pid}`, [LABEL_DEADLINE]: future }, now, host),
    ).toBeUndefined();
    expect(
      reapReason({ [LABEL_OWNER]: `${host}/${process.pid}`, [LABEL_DEADLINE]: String(now - 1) }, now, host),
    ).toBe('past its deadline');
    expect(reapReason({ [LABEL_OWNER]: `${host}/2147483646`, [LABEL_DEADLINE]: future }, now, host)).toMatch(
      /gone/,
    );
    expect(
      reapReason({ [LABEL_OWNER]: 'elsewhere/2147483646', [LABEL_DEADLINE]: future }, now, host),
    ).toBeUndefined();
  });
});
