/**
 * Command syntax shared by every platform: `help`, `status`, `run <lang>` + code block, `digest ...`,
 * `cancel`, `whoami`. Anything else is a message for the agent orchestrator.
 */
export type ParsedCommand =
  | { name: 'help' }
  | { name: 'status' }
  | { name: 'whoami' }
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
    case 'whoami':
      return { name: 'whoami' };
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
  '• `whoami`: who I think you are, and your role',
  'Anything else is a question for the assistant.',
].join('\n');
