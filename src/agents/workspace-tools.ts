/**
 * The coding tools the GitHub WorkspaceAgent offers besides `run_in_workspace`: view, str_replace,
 * create_file, search and run. Each becomes a small program run INSIDE the sandbox (whose /work is the
 * checkout), so the host never reads, executes or follows links in the checkout and the sandbox's
 * limits apply. Arguments travel as base64-encoded JSON embedded in the program, never interpolated
 * into shell or Python source; paths are resolved inside /work only (absolute paths, `..` escapes and
 * links leading outside are refused with exit code 2).
 */
import { z } from 'zod';
import { DeckhandError } from '../core/index.js';
import { describeIssues, jsonSchemaOf } from './tools/tool.js';
import type { ToolSpec } from './types.js';

/** Lines `view` prints at most per call; the model asks for a range to see more. */
export const VIEW_MAX_LINES = 400;
/** Matching lines `search` prints at most. */
export const SEARCH_MAX_RESULTS = 200;

const relPath = z.string().min(1).max(4096);

const schemas = {
  view: z
    .object({
      path: relPath.describe('File or folder, relative to the repository root ("." for the root).'),
      startLine: z.number().int().positive().optional(),
      endLine: z.number().int().positive().optional(),
    })
    .strict(),
  str_replace: z
    .object({
      path: relPath,
      old: z.string().min(1).describe('Exact text to replace; must occur exactly once in the file.'),
      new: z.string(),
    })
    .strict(),
  create_file: z.object({ path: relPath, content: z.string().max(1_000_000) }).strict(),
  search: z
    .object({
      pattern: z.string().min(1).max(1000),
      path: relPath.optional().describe('Folder or file to search, relative to the root (default: all).'),
      regex: z
        .boolean()
        .optional()
        .describe('Treat the pattern as an extended regex (default: fixed string).'),
    })
    .strict(),
  run: z
    .object({
      command: z.string().min(1).max(100_000),
      timeoutSeconds: z.number().int().min(1).max(600).optional(),
    })
    .strict(),
} as const;

export type WorkspaceToolName = keyof typeof schemas;
export type WorkspaceToolArgs<N extends WorkspaceToolName> = z.infer<(typeof schemas)[N]>;

const descriptions: Record<WorkspaceToolName, string> = {
  view: `Show a file of the checkout with line numbers (at most ${VIEW_MAX_LINES} lines a call; use startLine/endLine), or list a folder (not recursive; folders end with /).`,
  str_replace:
    'Edit a file: replace the exact text `old` with `new`. `old` must occur exactly once (include surrounding lines to make it unique); otherwise nothing changes.',
  create_file: 'Create a file (and its parent folders) with the given content, or overwrite it.',
  search: `Search the checkout's files for a fixed string (or a regex with regex: true), like grep -rn; prints path:line:text, at most ${SEARCH_MAX_RESULTS} lines, skipping .git.`,
  run: 'Run a bash command in the sandbox with the checkout as the working folder (/work), e.g. the tests. No network.',
};

export const WORKSPACE_TOOLS: ToolSpec[] = (Object.keys(schemas) as WorkspaceToolName[]).map((name) => ({
  name,
  description: descriptions[name],
  inputSchema: jsonSchemaOf(schemas[name]),
}));

export function isWorkspaceTool(name: string): name is WorkspaceToolName {
  return Object.hasOwn(schemas, name);
}

export interface SandboxProgram {
  lang: 'python' | 'bash';
  code: string;
  timeoutSeconds?: number;
}

/** Shared by every Python program: the arguments, and a path resolver that stays inside /work. */
const PRELUDE = `import base64, json, os, sys
ROOT = os.path.realpath('/work')
A = json.loads(base64.b64decode(ARGS_B64).decode('utf-8'))

def refuse(message):
    print(message, file=sys.stderr)
    sys.exit(2)

def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)

def inside(p):
    return p == ROOT or p.startswith(ROOT + '/')

def resolve(path):
    if path.startswith('/'):
        refuse('Refused: ' + path + ' is an absolute path; give a path relative to the repository root.')
    lexical = os.path.normpath(os.path.join(ROOT, path))
    if not inside(lexical):
        refuse('Refused: ' + path + ' leads outside the repository (..); paths must stay inside it.')
    real = os.path.realpath(lexical)
    if not inside(real):
        refuse('Refused: ' + path + ' is or goes through a link leading outside the repository.')
    return real

def rel(p):
    r = os.path.relpath(p, ROOT)
    return '.' if r == '.' else r
`;

const BODIES: Record<Exclude<WorkspaceToolName, 'run'>, string> = {
  view: String.raw`p = resolve(A['path'])
if os.path.isdir(p):
    names = sorted(os.listdir(p))
    print(rel(p) + '/ (' + str(len(names)) + ' entries)')
    for n in names:
        print(n + ('/' if os.path.isdir(os.path.join(p, n)) and not os.path.islink(os.path.join(p, n)) else ''))
    sys.exit(0)
if not os.path.isfile(p):
    fail('No file or folder ' + A['path'] + ' in the repository.')
data = open(p, 'rb').read()
if b'\0' in data[:8192]:
    print(rel(p) + ': binary file, ' + str(len(data)) + ' bytes; not shown.')
    sys.exit(0)
lines = data.decode('utf-8', errors='replace').splitlines()
total = len(lines)
start = max(1, A.get('startLine') or 1)
end = min(total, A.get('endLine') or total)
last = min(end, start + MAX_LINES - 1)
if total == 0:
    print(rel(p) + ': empty file.')
    sys.exit(0)
if start > total:
    fail(rel(p) + ' has ' + str(total) + ' lines; startLine ' + str(start) + ' is past the end.')
for i in range(start, last + 1):
    print('%6d\t%s' % (i, lines[i - 1]))
if last < total or start > 1:
    print('(lines %d-%d of %d; ask for startLine/endLine to see others)' % (start, last, total))
`,
  str_replace: String.raw`p = resolve(A['path'])
if not os.path.isfile(p):
    fail('No file ' + A['path'] + ' in the repository; nothing changed.')
try:
    text = open(p, 'rb').read().decode('utf-8')
except UnicodeDecodeError:
    fail(A['path'] + ' is not UTF-8 text; nothing changed.')
n = text.count(A['old'])
if n == 0:
    fail('No match: the old text occurs 0 times in ' + A['path'] + '; nothing changed. View the file and copy the text exactly.')
if n > 1:
    fail('The old text occurs ' + str(n) + ' times in ' + A['path'] + '; nothing changed. Include more surrounding lines so it matches exactly once.')
at = text.index(A['old'])
first = text.count('\n', 0, at) + 1
with open(p, 'wb') as f:
    f.write(text.replace(A['old'], A['new'], 1).encode('utf-8'))
print('Replaced 1 occurrence in ' + rel(p) + ' at line ' + str(first) + '; the new text spans ' + str(A['new'].count('\n') + 1) + ' line(s).')
`,
  create_file: `p = resolve(A['path'])
if os.path.isdir(p):
    fail(A['path'] + ' is a folder; nothing written.')
existed = os.path.exists(p)
os.makedirs(os.path.dirname(p), exist_ok=True)
p = resolve(A['path'])
with open(p, 'wb') as f:
    f.write(A['content'].encode('utf-8'))
print(('Overwrote ' if existed else 'Created ') + rel(p) + ' (' + str(len(A['content'].splitlines())) + ' lines).')
`,
  search: String.raw`import subprocess
target = rel(resolve(A.get('path') or '.'))
argv = ['grep', '-rnI', '--exclude-dir=.git', '-E' if A.get('regex') else '-F', '-e', A['pattern'], '--', target]
proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
shown = 0
more = False
for raw in proc.stdout:
    if shown >= MAX_RESULTS:
        more = True
        break
    line = raw.decode('utf-8', errors='replace').rstrip('\n')
    if line.startswith('./'):
        line = line[2:]
    print(line[:300] + (' ...' if len(line) > 300 else ''))
    shown += 1
if more:
    proc.kill()
    print('(more than %d matching lines; narrow the pattern or the path)' % MAX_RESULTS)
    sys.exit(0)
err = proc.stderr.read().decode('utf-8', errors='replace')
code = proc.wait()
if code > 1:
    fail('grep failed: ' + err.strip())
if shown == 0:
    print('No matches for ' + json.dumps(A['pattern']) + ' in ' + target + '.')
`,
};

/** Arguments as a Python string literal of base64 (only [A-Za-z0-9+/=], so nothing to escape). */
function pythonProgram(name: Exclude<WorkspaceToolName, 'run'>, args: unknown): string {
  const encoded = Buffer.from(JSON.stringify(args), 'utf8').toString('base64');
  return [
    `ARGS_B64 = '${encoded}'`,
    `MAX_LINES = ${VIEW_MAX_LINES}`,
    `MAX_RESULTS = ${SEARCH_MAX_RESULTS}`,
    PRELUDE,
    BODIES[name],
  ].join('\n');
}

/** A tool call's arguments checked against its schema, then its sandbox program; or why not. */
export function prepareWorkspaceCall(
  name: WorkspaceToolName,
  raw: unknown,
): { ok: true; program: SandboxProgram } | { ok: false; error: string } {
  const parsed = schemas[name].safeParse(raw);
  if (!parsed.success) return { ok: false, error: describeIssues(parsed.error) };
  if (name === 'run') {
    const args = parsed.data as WorkspaceToolArgs<'run'>;
    return {
      ok: true,
      program: {
        lang: 'bash',
        code: args.command,
        ...(args.timeoutSeconds ? { timeoutSeconds: args.timeoutSeconds } : {}),
      },
    };
  }
  return { ok: true, program: { lang: 'python', code: pythonProgram(name, parsed.data) } };
}

/** The sandbox program for a tool call; throws BAD_REQUEST when the arguments fail the schema. */
export function sandboxProgramFor(name: WorkspaceToolName, args: unknown): SandboxProgram {
  const prepared = prepareWorkspaceCall(name, args);
  if (!prepared.ok) throw new DeckhandError('BAD_REQUEST', `Invalid ${name} call: ${prepared.error}`);
  return prepared.program;
}
