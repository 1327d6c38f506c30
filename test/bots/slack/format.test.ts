/** Markdown -> Slack mrkdwn, and splitting long replies so each part renders on its own. */
import { describe, expect, it } from 'vitest';
import {
  escapeSlackText,
  MARKDOWN_TREE_MAX,
  markdownToMrkdwn,
  neutralizeSlackBroadcasts,
} from '../../../src/bots/slack/index.js';
import { splitMessage } from '../../../src/core/index.js';

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

  it('renders italic as _x_, whichever marker the markdown used', () => {
    expect(markdownToMrkdwn('an *italic* and an _italic_ word')).toBe('an _italic_ and an _italic_ word');
  });

  it('renders bold as *x*, whichever marker the markdown used', () => {
    expect(markdownToMrkdwn('a **bold** and a __bold__ word')).toBe('a *bold* and a *bold* word');
  });

  it('renders bold italic ***x*** as *_x_*, with no stars left over', () => {
    expect(markdownToMrkdwn('***both*** and ___both___')).toBe('*_both_* and *_both_*');
    expect(markdownToMrkdwn('**bold with *italic* inside**')).toBe('*bold with _italic_ inside*');
  });

  it('renders italic, bold italic and a link whose URL has parentheses as Slack shows them', () => {
    expect(markdownToMrkdwn('*italic*')).toBe('_italic_');
    expect(markdownToMrkdwn('***x***')).toBe('*_x_*');
    expect(markdownToMrkdwn('[docs](https://example.com/a_(b))')).toBe('<https://example.com/a_(b)|docs>');
  });

  it('keeps formatting inside a word readable to Slack with zero-width spaces', () => {
    expect(markdownToMrkdwn('un**believ**able')).toBe('un\u200B*believ*\u200Bable');
  });

  it('keeps the full URL of a link with parentheses in it', () => {
    expect(markdownToMrkdwn('[wiki](https://en.wikipedia.org/wiki/Foo_(bar)) and more.')).toBe(
      '<https://en.wikipedia.org/wiki/Foo_(bar)|wiki> and more.',
    );
    expect(markdownToMrkdwn('see https://en.wikipedia.org/wiki/Foo_(bar).')).toBe(
      'see <https://en.wikipedia.org/wiki/Foo_(bar)>.',
    );
  });

  it('encodes | < > in link URLs, escapes labels, and links only web and mail URLs', () => {
    expect(
      markdownToMrkdwn('[a|b <c>](https://x.example/?q=a|b) [rel](./README.md) [js](javascript:alert(1))'),
    ).toBe('<https://x.example/?q=a%7Cb|a¦b &lt;c&gt;> rel js');
    expect(markdownToMrkdwn('[ref][r] ![logo](https://x.example/l.png)\n\n[r]: https://x.example/r')).toBe(
      '<https://x.example/r|ref> <https://x.example/l.png|logo>',
    );
  });

  it('keeps <!channel> inert in link text, link URL and body', () => {
    const z = '\u200B';
    const out = markdownToMrkdwn('Hi <!channel>: [<!channel> now](https://x.example/<!channel>) @channel');
    expect(out).toBe(`Hi @${z}channel: <https://x.example/%3C!channel%3E|&lt;!channel&gt; now> @${z}channel`);
    expect(out).not.toMatch(/<!channel>/);
  });

  it('keeps * and _ literally in code spans and code blocks', () => {
    expect(markdownToMrkdwn('`*a* _b_ **c**`\n\n```\n*a* _b_ __c__ ***d***\n```')).toBe(
      '`*a* _b_ **c**`\n\n```\n*a* _b_ __c__ ***d***\n```',
    );
  });

  it("passes Slack's own tokens through and escapes HTML and entities as text", () => {
    expect(
      markdownToMrkdwn(
        '<@U123> in <#C1|ops> at <!date^1736942400^{date}|today>, <https://x.example|x> <b>&amp;</b>',
      ),
    ).toBe(
      '<@U123> in <#C1|ops> at <!date^1736942400^{date}|today>, <https://x.example|x> &lt;b&gt;&amp;&lt;/b&gt;',
    );
    // An escaped token in the markdown is text: it shows, it does not ping.
    expect(markdownToMrkdwn('&lt;@U123&gt; and &lt;!here&gt;')).toBe('&lt;@U123&gt; and &lt;!here&gt;');
  });

  it('renders block quotes, ordered and task lists, and blank lines as written', () => {
    expect(
      markdownToMrkdwn('> said **this**\n> and that\n\n3. three\n4. four\n\n- [x] done\n- [ ] todo'),
    ).toBe('> said *this*\n> and that\n\n3. three\n4. four\n\n• ☑ done\n• ☐ todo');
  });

  it('renders a table as aligned columns in a code block', () => {
    expect(markdownToMrkdwn('| name | n |\n|---|---|\n| a<b | 12 |')).toBe(
      '```\nname | n\n-----+---\na&lt;b  | 12\n```',
    );
  });

  it('closes a code block left open, as a streamed reply has it mid-way', () => {
    expect(markdownToMrkdwn('run:\n```sh\nmake *')).toBe('run:\n```\nmake *\n```');
  });

  it('converts very long markdown on the tree only up to MARKDOWN_TREE_MAX, the rest as plain text', () => {
    const line = '**b** <!here>\n';
    const markdown = line.repeat(Math.ceil(MARKDOWN_TREE_MAX / line.length) + 10);
    const out = markdownToMrkdwn(markdown);
    expect(out.startsWith('*b* @\u200Bhere\n*b*')).toBe(true);
    expect(out.endsWith('\n**b** @\u200Bhere\n')).toBe(true);
    expect(out).not.toMatch(/<!here>/);
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
