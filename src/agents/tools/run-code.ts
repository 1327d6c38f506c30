/** run_code: the model's code in the Docker sandbox, with the sandbox's own limits. */
import { z } from 'zod';
import type { CodeRunner } from '../../runners/index.js';
import { defineTool, type Tool } from './tool.js';

const runCodeSchema = z
  .object({
    language: z.string().regex(/^[a-z][a-z0-9_+-]*$/, 'a language name such as python, node or bash'),
    code: z.string().min(1, 'the code to run').max(100_000),
  })
  .strict();

export function runCodeTool(runner: CodeRunner): Tool {
  return defineTool({
    name: 'run_code',
    description:
      'Run a program in an isolated sandbox without network and return its exit code, stdout and stderr. Languages: python, node, bash.',
    category: 'code',
    mutates: true,
    schema: runCodeSchema,
    target: (args) => ({ target: `sandbox:${args.language}`, summary: `run ${args.language}\n${args.code}` }),
    async run(args, ctx) {
      const result = await runner.run({ lang: args.language, code: args.code, taskId: ctx.taskId });
      const flags = [
        result.timedOut ? 'timed out' : '',
        result.oomKilled ? 'out of memory' : '',
        result.truncated ? 'output truncated' : '',
      ].filter(Boolean);
      const lines = [
        `exit code: ${result.exitCode ?? 'none (killed)'}${flags.length ? ` (${flags.join(', ')})` : ''}`,
        `stdout:\n${result.stdout}`,
        result.stderr ? `stderr:\n${result.stderr}` : '',
      ];
      return { output: lines.filter(Boolean).join('\n'), isError: result.exitCode !== 0 };
    },
  });
}
