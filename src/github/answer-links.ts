/**
 * An answer's file references as links: `src/app.ts:12` or `src/app.ts:12-20` (bare or in a code
 * span) become links to those lines at the commit the answer read, so a reader lands on the code.
 * The text is the model's (untrusted): only a reference to a regular file that exists in the checkout
 * is linked (checked with lstat, no link followed, nothing outside the checkout), the URL is built here
 * from the repository's web address and the path's segments, and fenced code blocks are left alone.
 */
import { lstat } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';

/** `path:line` or `path:start-end`, optionally inside one code span; the path has a dot or a slash. */
const REFERENCE = /(`?)((?:[\w.-]+\/)*[\w.-]+\.[\w]+|(?:[\w.-]+\/)+[\w.-]+):(\d{1,6})(?:-(\d{1,6}))?\1/g;
const FENCE = /^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm;
/** References checked per answer at most; the rest stay text. */
const MAX_REFERENCES = 100;

export interface AnswerLinkTarget {
  /** `https://github.com/owner/repo/blob/<sha>` */
  web: string;
  /** The checkout on the host. */
  root: string;
}

async function isFileInCheckout(root: string, path: string): Promise<boolean> {
  const clean = normalize(path);
  if (isAbsolute(clean) || clean.startsWith(`..${sep}`) || clean === '..') return false;
  if (clean.split(sep).includes('.git')) return false;
  try {
    // lstat on each step would be stricter; the file itself must not be a link, and the checkout
    // holds what the host cloned (links the sandbox left were refused when it was copied back).
    return (await lstat(join(root, clean))).isFile();
  } catch {
    return false;
  }
}

function urlOf(web: string, path: string, start: number, end: number | undefined): string {
  const encoded = normalize(path).split(sep).map(encodeURIComponent).join('/');
  const lines = end !== undefined && end > start ? `#L${start}-L${end}` : `#L${start}`;
  return `${web}/${encoded}${lines}`;
}

async function linkProse(text: string, target: AnswerLinkTarget, budget: { left: number }): Promise<string> {
  const matches = [...text.matchAll(REFERENCE)];
  let out = '';
  let at = 0;
  for (const match of matches) {
    const [whole, tick = '', path = '', startText = '', endText] = match;
    const index = match.index ?? 0;
    // Already a link's text or target (`[a.ts:3](...)`, `(...a.ts:3)`): leave it.
    const before = text[index - 1];
    if (before === '[' || before === '/' || before === '(' || budget.left <= 0) continue;
    budget.left -= 1;
    if (!(await isFileInCheckout(target.root, path))) continue;
    const start = Number(startText);
    const end = endText === undefined ? undefined : Number(endText);
    const label = `${tick}${path}:${startText}${endText ? `-${endText}` : ''}${tick}`;
    out += `${text.slice(at, index)}[${label}](${urlOf(target.web, path, start, end)})`;
    at = index + whole.length;
  }
  return out + text.slice(at);
}

/** The answer with its file references linked; fenced code blocks unchanged. */
export async function linkFileReferences(text: string, target: AnswerLinkTarget): Promise<string> {
  const budget = { left: MAX_REFERENCES };
  let out = '';
  let at = 0;
  for (const fence of text.matchAll(FENCE)) {
    const index = fence.index ?? 0;
    out += await linkProse(text.slice(at, index), target, budget);
    out += fence[0];
    at = index + fence[0].length;
  }
  return out + (await linkProse(text.slice(at), target, budget));
}
