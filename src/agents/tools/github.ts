/** Repository tools over the GitHub port: reading (read_file, search_code, list_files, github_activity) and open_pull_request. */
import { z } from 'zod';
import type { GithubToolPort } from './ports.js';
import { defineTool, type Tool } from './tool.js';

const repo = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, 'owner/name of a GitHub repository')
  .describe('owner/name');
const path = z
  .string()
  .max(1000)
  .refine((p) => !p.split('/').includes('..'), 'must not contain ..');
const ref = z
  .string()
  .min(1)
  .max(255)
  .optional()
  .describe('branch, tag or commit; the default branch if omitted');

export function githubTools(port: GithubToolPort): Tool[] {
  return [
    defineTool({
      name: 'read_file',
      description: 'Read one file of a repository.',
      category: 'repo-read',
      mutates: false,
      schema: z.object({ repo, path: path.min(1), ref }).strict(),
      target: (a) => ({ target: `${a.repo}:${a.path}`, repo: a.repo }),
      async run(a) {
        const file = await port.readFile(a.repo, a.path, a.ref);
        return { output: `${a.repo}/${a.path} @ ${file.ref}\n${file.content}` };
      },
    }),
    defineTool({
      name: 'search_code',
      description: 'Search the code of a repository; returns matching paths with a snippet.',
      category: 'repo-read',
      mutates: false,
      schema: z.object({ repo, query: z.string().min(1).max(256) }).strict(),
      target: (a) => ({ target: a.repo, repo: a.repo }),
      async run(a) {
        const hits = await port.searchCode(a.repo, a.query);
        if (hits.length === 0) return { output: 'no matches' };
        return {
          output: hits.map((h) => `${h.path}${h.line ? `:${h.line}` : ''}: ${h.snippet}`).join('\n'),
        };
      },
    }),
    defineTool({
      name: 'list_files',
      description: 'List the files and directories under a path of a repository ("" for the root).',
      category: 'repo-read',
      mutates: false,
      schema: z.object({ repo, path: path.default(''), ref }).strict(),
      target: (a) => ({ target: `${a.repo}:${a.path || '/'}`, repo: a.repo }),
      async run(a) {
        const entries = await port.listFiles(a.repo, a.path, a.ref);
        return {
          output: entries.map((e) => (e.type === 'dir' ? `${e.path}/` : e.path)).join('\n') || '(empty)',
        };
      },
    }),
    defineTool({
      name: 'github_activity',
      description: 'Recent activity of a repository (pull requests, issues, commits) since a time.',
      category: 'activity',
      mutates: false,
      schema: z
        .object({
          repo,
          since: z.iso.datetime({ offset: true }).describe('ISO 8601 time, e.g. 2026-01-05T00:00:00Z'),
        })
        .strict(),
      target: (a) => ({ target: a.repo, repo: a.repo }),
      async run(a) {
        return { output: await port.activity(a.repo, a.since) };
      },
    }),
  ];
}

export function openPullRequestTool(port: GithubToolPort): Tool {
  return defineTool({
    name: 'open_pull_request',
    description:
      'Open a pull request on a repository with the given file changes on a new branch. Needs write access for the asking user.',
    category: 'repo-write',
    mutates: true,
    schema: z
      .object({
        repo,
        title: z.string().min(1).max(256),
        body: z.string().max(60_000).default(''),
        branch: z
          .string()
          .regex(/^[A-Za-z0-9._/-]+$/, 'a branch name')
          .max(200)
          .describe('new branch to create'),
        base: z.string().min(1).max(255).optional().describe('target branch; the default branch if omitted'),
        changes: z
          .array(z.object({ path: path.min(1), content: z.string().nullable() }).strict())
          .min(1, 'at least one file change')
          .max(100),
      })
      .strict(),
    target: (a) => ({
      target: `${a.repo}#${a.branch}`,
      repo: a.repo,
      summary: [
        `open a pull request on ${a.repo}: branch ${a.branch} into ${a.base ?? 'the default branch'}`,
        `title: ${a.title}`,
        ...a.changes.map((c) =>
          c.content === null ? `delete ${c.path}` : `write ${c.path} (${c.content.split('\n').length} lines)`,
        ),
      ].join('\n'),
    }),
    async run(a, ctx) {
      const pr = await port.openPullRequest({
        repo: a.repo,
        title: a.title,
        body: a.body,
        branch: a.branch,
        ...(a.base ? { base: a.base } : {}),
        changes: a.changes,
        actor: {
          platform: ctx.event.platform,
          workspaceId: ctx.event.workspaceId,
          userId: ctx.event.userId,
          ...(ctx.event.userName ? { userName: ctx.event.userName } : {}),
        },
      });
      return { output: `opened pull request #${pr.number}: ${pr.url}` };
    },
  });
}
