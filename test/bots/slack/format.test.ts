/** Markdown -> Slack mrkdwn, and splitting long replies so each part renders on its own. */
import { describe, expect, it } from 'vitest';
import { splitMessage } from '../../../src/bots/sink-http.js';
import {
  escapeSlackText,
  markdownToMrkdwn,
  neutralizeSlackBroadcasts,
} from '../../../src/bots/slack/format.js';

describe('Slack formatting', () => {
  it("keeps Slack's own tokens and escapes everything else", () => {
    expect(escapeSlackText('<@U123> said a<b & c > d, see <https://x.example|x> &amp; <!here>')).toBe(
      '<@U123> said a&lt;b &amp; c &gt; d, see <https://x.example|x> &amp; <!here>',
    );
  });

  it('leaves code spans and blocks alone apart from escaping', () => {
    expect(markdownToMrkdwn('**bold** `**not bold**`\n```js\n**x** < 1\n```')).toBe(
      '*bold* `**not bold**`\n```\n**x** &lt; 1\n```',
    );
  });

  it('renders broadcasts inert in prose and code alike, and leaves dates and user mentions be', () => {
    const z = '\u200B';
    expect(markdownToMrkdwn('# <!HERE>\n- <!channel|@channel>\n```\n<!everyone>\n```')).toBe(
      `*@${z}here*\n• @${z}channel\n\`\`\`\n@${z}everyone\n\`\`\``,
    );
    expect(
      neutralizeSlackBroadcasts('<@U123> at <!date^1736942400^{date}|today>, cc team@here.example'),
    ).toBe('<@U123> at <!date^1736942400^{date}|today>, cc team@here.example');
  });

  it('turns strikethrough, headings and bullets into their mrkdwn forms', () => {
    expect(markdownToMrkdwn('# Title\n~~old~~ new\n* a\n  - b')).toBe('*Title*\n~old~ new\n• a\n  • b');
  });
});

describe('splitting long messages', () => {
  it('returns a short message as it is', () => {
    expect(splitMessage('hello', 10)).toEqual(['hello']);
  });

  it('reopens a code block with its language in the next part', () => {
    const code = Array.from({ length: 30 }, (_, i) => `print(${i})`).join('\n');
    const parts = splitMessage(`\`\`\`python\n${code}\n\`\`\``, 120);
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(120);
      expect(part.startsWith('```python\n')).toBe(true);
      expect(part.endsWith('```')).toBe(true);
    }
  });

  it('cuts a single very long line hard, losing nothing', () => {
    const parts = splitMessage('z'.repeat(250), 100);
    expect(parts.join('')).toBe('z'.repeat(250));
    expect(parts.every((part) => part.length <= 100)).toBe(true);
  });
});
