/**
 * Command syntax shared by every platform: `help`, `status`, `run <lang>` + code block, `digest ...`,
 * `cancel`, and who may do what (`whoami`, `link github`, `role`, `repos`, `audit`, `approve`).
 * Anything else is a message for the agent orchestrator.
 */
import type { AccessCommandName } from './access-commands.js';

/**
 * An access command only when the words after it fit its syntax: "audit this function" or "link
 * me the docs" stay questions for the assistant.
 */
const ACCESS_SYNTAX: Record<AccessCommandName, (words: string[]) => boolean> = {
  link: (w) => w.length === 0 || (w.length === 1 && /^github$/i.test(w[0]!)),
  unlink: (w) => w.length === 0 || (w.length === 1 && /^github$/i.test(w[0]!)),
  whoami: (w) => w.length === 0,
  role: (w) => w.length === 2 && w.some((x) => /^(owner|admin|member|guest)$/i.test(x)),
  roles: (w) => w.length === 0,
  repos: (w) => w.length === 0 || (/^(list|connect|disconnect)$/i.test(w[0]!) && w.length <= 2),
  audit: (w) => w.length === 0 || (w.length === 1 && /^\d{1,3}$/.test(w[0]!)),
};
const DECISION_SYNTAX = (w: string[]) => w.length === 0 || (w.length === 1 && /^[\w-]{1,64}$/.test(w[0]!));

export type ParsedCommand =
  | { name: 'help' }
  | { name: 'status' }
  | { name: 'access'; command: { name: AccessCommandName; words: string[] } }
  | { name: 'decide'; verdict: 'approve' | 'deny'; approvalId?: string }
  | { name: 'cancel'; taskId?: string }
  | { name: 'run'; lang: string; code: string }
  | { name: 'digest'; args: string }
  | { name: 'chat'; text: string };

const CODE_BLOCK = /```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?([\s\S]*?)```/;

export function parseCommand(input: string): ParsedCommand | { name: 'error'; message: string } {
  const text = input.trim().replace(/^\/?deckhand\s+/i, '');
  const [head = '', ...restWords] = text.split(/\s+/);
  const word = head.toLowerCase();
  const rest = text.slice(head.length).trim();
  switch (word) {
    case 'help':
      return { name: 'help' };
    case 'status':
      return { name: 'status' };
    case 'approve':
    case 'deny':
      if (!DECISION_SYNTAX(restWords)) return { name: 'chat', text };
      return { name: 'decide', verdict: word, ...(restWords[0] ? { approvalId: restWords[0] } : {}) };
    case 'cancel':
      return restWords[0] ? { name: 'cancel', taskId: restWords[0] } : { name: 'cancel' };
    case 'digest':
      return { name: 'digest', args: rest };
    case 'run': {
      const lang = (restWords[0] ?? '').toLowerCase().replace(/```.*$/s, '');
      const block = CODE_BLOCK.exec(rest);
      let code = block?.[2];
      if (code === undefined) {
        // `run python print(1)` on one line, or code on the following lines without fences.
        code = rest.slice(restWords[0]?.length ?? 0).trim();
      }
      if (!lang) return { name: 'error', message: 'Usage: `run python|node|bash` followed by a code block.' };
      if (!code.trim())
        return {
          name: 'error',
          message: `No code to run. Put the ${lang} code in a \`\`\` block after \`run ${lang}\`.`,
        };
      return { name: 'run', lang: block?.[1] && !restWords[0] ? block[1] : lang, code };
    }
    default:
      if (Object.hasOwn(ACCESS_SYNTAX, word) && ACCESS_SYNTAX[word as AccessCommandName](restWords)) {
        return { name: 'access', command: { name: word as AccessCommandName, words: restWords } };
      }
      return { name: 'chat', text };
  }
}

export const HELP_TEXT = [
  '**Deckhand commands**',
  '• `help`: this list',
  '• `status`: what I am working on',
  '• `run python|node|bash` followed by a ```code block```: run it in a sandbox',
  '• `digest add daily 09:00 Europe/Berlin repos=org/a,org/b`, `digest list|pause|resume|remove|run-now <name>`: scheduled team digests in this channel',
  '• `cancel [task id]`: stop the task running in this thread',
  '• `whoami`: who I think you are, your role and your linked GitHub account',
  '• `link github` / `unlink github`: act with your GitHub access (repository tools, pull requests)',
  '• `role @someone owner|admin|member|guest`, `roles`: who may do what here (admins)',
  '• `repos`, `repos connect|disconnect owner/name`: the repositories this workspace may use (admins)',
  '• `approve|deny <id>`: decide an action waiting for approval',
  '• `audit [n]`: the newest entries of this workspace’s audit log (admins)',
  'Anything else is a question for the assistant.',
].join('\n');
