/**
 * MCP tools from a real stdio server started by the test, a server that fails to start (reported by
 * doctor, the other tools keep working), and a thread longer than the memory budget being summarised.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMcpTools } from '../../src/agents/index.js';
import { doctorExitCode, runDoctor } from '../../src/cli/doctor.js';
import type { Config, Role } from '../../src/core/index.js';
import type { Store } from '../../src/store/index.js';
import { useNockForThirdPartyApis } from '../support/nock.js';
import { dropTestStore, openTestStore } from '../support/store.js';
import { anthropic, chat, makeAgent, SSE_HEADERS, testConfig, testEvent, threadMessages } from './support.js';

useNockForThirdPartyApis();

const SERVER_SCRIPT = resolve(import.meta.dirname, 'fixtures/mcp-server.ts');

let store: Store;

beforeAll(async () => {
  store = await openTestStore();
  // The repository tools below read acme/api for U1: linked to a GitHub login, the repository connected.
  const workspace = { platform: 'slack', workspaceId: 'T1' } as const;
  await store.linkGithub({ ...workspace, userId: 'U1' }, { login: 'ana', githubId: 1 });
  await store.connectRepo(workspace, 'acme/api', 'slack:U-admin');
});

/** Who may use a test MCP server: the schema's defaults (members and above, every channel). */
function everyone(): { roles: Role[]; channels: string[] } {
  return { roles: ['member', 'admin', 'owner'], channels: [] };
}

afterAll(async () => {
  await dropTestStore(store);
});

function mcpConfig(): Config {
  return testConfig({
    default: 'anthropic:claude-sonnet-4-6',
    mcpServers: {
      tickets: {
        command: process.execPath,
        args: ['--import', 'tsx', SERVER_SCRIPT],
        env: {},
        mutates: false,
        startTimeoutMs: 20_000,
        callTimeoutMs: 10_000,
        ...everyone(),
      },
      broken: {
        command: '/nonexistent/mcp-server',
        args: [],
        env: {},
        mutates: true,
        startTimeoutMs: 5000,
        callTimeoutMs: 5000,
        ...everyone(),
      },
    },
  });
}

describe('MCP servers', () => {
  it('adds a stdio server tool that the model calls and whose result reaches the reply', async () => {
    const agent = await makeAgent(mcpConfig(), { store });
    try {
      expect(agent.mcp).toEqual([
        expect.objectContaining({ server: 'tickets', state: 'ok', tools: ['mcp_tickets_lookup_ticket'] }),
        expect.objectContaining({ server: 'broken', state: 'broken' }),
      ]);
      const bodies: Array<Record<string, unknown>> = [];
      nock('https://api.anthropic.com')
        .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
        .reply(200, anthropic.callTool('toolu_m', 'mcp_tickets_lookup_ticket', { id: 'DH-7' }), SSE_HEADERS)
        .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
        .reply(200, anthropic.answer(['DH-7 is the flaky ARM test; priya owns it.']), SSE_HEADERS);
      const outcome = await chat(store, agent, testEvent('what is DH-7 about?', { threadId: 'mcp' }));

      const tools = bodies[0]?.tools as Array<{ name: string; input_schema: Record<string, unknown> }>;
      expect(tools.find((t) => t.name === 'mcp_tickets_lookup_ticket')?.input_schema).toMatchObject({
        type: 'object',
        properties: { id: { type: 'string' } },
      });
      const result = JSON.stringify((bodies[1]?.messages as unknown[]).at(-1));
      expect(result).toContain('DH-7: flaky sandbox test on ARM runners, owner: priya');
      expect(outcome.messages).toEqual(['DH-7 is the flaky ARM test; priya owns it.']);
    } finally {
      await agent.close();
    }
  });

  it('validates MCP tool arguments against the schema the server published', async () => {
    const agent = await makeAgent(mcpConfig(), { store });
    try {
      const bodies: Array<Record<string, unknown>> = [];
      nock('https://api.anthropic.com')
        .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
        .reply(200, anthropic.callTool('toolu_m2', 'mcp_tickets_lookup_ticket', { id: 7 }), SSE_HEADERS)
        .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
        .reply(200, anthropic.answer(['ok']), SSE_HEADERS);
      await chat(store, agent, testEvent('look up 7', { threadId: 'mcp-invalid' }));
      const result = JSON.stringify((bodies[1]?.messages as unknown[]).at(-1));
      expect(result).toContain('Invalid arguments for mcp_tickets_lookup_ticket: id:');
    } finally {
      await agent.close();
    }
  });

  it('adds tools from a streamable HTTP server', async () => {
    // A stateless MCP server on loopback: a fresh server and transport per request, as the SDK documents.
    const http = createServer(async (req, res) => {
      const server = new McpServer({ name: 'clock', version: '1.0.0' });
      server.registerTool(
        'deploy_window',
        { description: 'When deploys are allowed', inputSchema: {} },
        async () => ({
          content: [{ type: 'text', text: 'Deploys are allowed Tuesday to Thursday, 10:00-16:00 UTC.' }],
        }),
      );
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      let raw = '';
      for await (const chunk of req) raw += String(chunk);
      await transport.handleRequest(req, res, raw ? JSON.parse(raw) : undefined);
    });
    await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
    const agent = await makeAgent(
      testConfig({
        default: 'anthropic:claude-sonnet-4-6',
        mcpServers: {
          clock: {
            url,
            args: [],
            env: {},
            mutates: false,
            startTimeoutMs: 10_000,
            callTimeoutMs: 10_000,
            ...everyone(),
          },
        },
      }),
      { store },
    );
    try {
      expect(agent.mcp).toEqual([
        expect.objectContaining({ server: 'clock', state: 'ok', tools: ['mcp_clock_deploy_window'] }),
      ]);
      const bodies: Array<Record<string, unknown>> = [];
      nock('https://api.anthropic.com')
        .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
        .reply(200, anthropic.callTool('toolu_h', 'mcp_clock_deploy_window', {}), SSE_HEADERS)
        .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
        .reply(200, anthropic.answer(['Tuesday to Thursday.']), SSE_HEADERS);
      const outcome = await chat(store, agent, testEvent('when can we deploy?', { threadId: 'mcp-http' }));
      expect(JSON.stringify((bodies[1]?.messages as unknown[]).at(-1))).toContain(
        'Deploys are allowed Tuesday to Thursday',
      );
      expect(outcome.messages).toEqual(['Tuesday to Thursday.']);
    } finally {
      await agent.close();
      http.closeAllConnections();
      http.close();
    }
  });

  it('reports a server that never answers as broken, naming how long it waited', async () => {
    // Accepts the connection and the request, then says nothing.
    const silent = createServer(() => undefined);
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/mcp`;
    try {
      const set = await openMcpTools({
        silent: {
          url,
          args: [],
          env: {},
          mutates: false,
          startTimeoutMs: 300,
          callTimeoutMs: 300,
          ...everyone(),
        },
      });
      await set.close();
      expect(set.tools).toEqual([]);
      expect(set.status).toEqual([
        {
          server: 'silent',
          state: 'broken',
          tools: [],
          detail: 'MCP server silent did not answer within 300 ms',
        },
      ]);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('doctor reports the server that fails to start and the one that works', async () => {
    const results = await runDoctor(mcpConfig());
    const mcp = results.filter((r) => r.part.startsWith('mcp:'));
    expect(mcp).toEqual([
      expect.objectContaining({
        part: 'mcp:tickets',
        state: 'ok',
        detail: '1 tool(s): mcp_tickets_lookup_ticket',
      }),
      expect.objectContaining({
        part: 'mcp:broken',
        state: 'broken',
        detail: expect.stringContaining('did not start'),
        fix: 'check models.mcpServers.broken (command/args or url)',
      }),
    ]);
    expect(doctorExitCode(results)).toBe(1);
  });
});

describe('memory', () => {
  it('summarises a thread longer than the budget and still answers with the earlier facts', async () => {
    const agent = await makeAgent(
      testConfig({ default: 'anthropic:claude-sonnet-4-6', contextTokens: 400 }),
      {
        store,
      },
    );
    const thread = { threadId: 'long-thread' };
    const conversation = await store.upsertConversation({
      platform: 'slack',
      workspaceId: 'T1',
      channelId: 'C1',
      ...thread,
    });
    await store.appendMessage(conversation.id, { role: 'user', text: 'Our release codename is BLUE-OTTER.' });
    await store.appendMessage(conversation.id, {
      role: 'assistant',
      text: 'Noted: BLUE-OTTER.',
      model: 'anthropic:claude-sonnet-4-6',
    });
    for (let i = 0; i < 12; i++) {
      await store.appendMessage(conversation.id, {
        role: 'user',
        text: `Filler question ${i}: ${'lorem ipsum '.repeat(12)}`,
      });
      await store.appendMessage(conversation.id, {
        role: 'assistant',
        text: `Filler answer ${i}: ${'dolor sit amet '.repeat(10)}`,
        model: 'anthropic:claude-sonnet-4-6',
      });
    }
    const bodies: Array<Record<string, unknown>> = [];
    nock('https://api.anthropic.com')
      .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
      .reply(
        200,
        anthropic.answer(['The team set the release codename BLUE-OTTER; then many filler questions.']),
        SSE_HEADERS,
      )
      .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
      .reply(200, anthropic.answer(['The codename is BLUE-OTTER.']), SSE_HEADERS);
    const outcome = await chat(store, agent, testEvent('What was the release codename?', thread));

    // First call: the summary request carries the old turns as a transcript.
    expect(String(bodies[0]?.system)).toContain('You summarise a chat');
    expect(JSON.stringify(bodies[0]?.messages)).toContain('Our release codename is BLUE-OTTER.');
    expect(bodies[0]?.tools).toBeUndefined();
    // Second call: the summary is in the system prompt; the oldest raw turns are gone; the question is last.
    const answerCall = bodies[1] as { system: string; messages: Array<{ role: string; content: unknown }> };
    expect(answerCall.system).toContain(
      'Summary of the earlier conversation in this thread:\nThe team set the release codename BLUE-OTTER',
    );
    expect(JSON.stringify(answerCall.messages)).not.toContain('Our release codename is BLUE-OTTER.');
    expect(answerCall.messages.at(-1)).toEqual({ role: 'user', content: 'What was the release codename?' });
    expect(outcome.messages).toEqual(['The codename is BLUE-OTTER.']);

    // The summary is stored and used by the next turn without summarising again.
    const stored = await threadMessages(store, testEvent('', thread));
    const summary = stored.find((m) => m.role === 'system');
    expect(summary).toMatchObject({
      model: 'anthropic:claude-sonnet-4-6',
      summaryThrough: expect.any(String),
    });
    nock('https://api.anthropic.com')
      .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
      .reply(200, anthropic.answer(['Still BLUE-OTTER.']), SSE_HEADERS);
    const next = await chat(store, agent, testEvent('And again?', thread));
    expect(next.messages).toEqual(['Still BLUE-OTTER.']);
    expect(String(bodies[2]?.system)).toContain('BLUE-OTTER');
    const texts = (bodies[2]?.messages as Array<{ content: string | Array<{ text?: string }> }>).map((m) =>
      typeof m.content === 'string' ? m.content : m.content.map((b) => b.text ?? '').join(''),
    );
    expect(texts.at(-1)).toBe('And again?');
    // The previous answer is there once: the router's stored copy of a reply is not sent twice.
    expect(texts.filter((t) => t === 'The codename is BLUE-OTTER.')).toHaveLength(1);
  });

  it('cuts a large tool result with a note before the model sees it', async () => {
    const big = 'x'.repeat(5000);
    const github = {
      readFile: async () => ({ content: big, ref: 'main' }),
      searchCode: async () => [],
      listFiles: async () => [],
      openPullRequest: async () => ({ url: '', number: 0 }),
      activity: async () => '',
      permissionOf: async () => 'read' as const,
    };
    const agent = await makeAgent(
      testConfig({ default: 'anthropic:claude-sonnet-4-6', toolResultMaxChars: 1000 }),
      {
        store,
        github,
      },
    );
    const bodies: Array<Record<string, unknown>> = [];
    nock('https://api.anthropic.com')
      .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
      .reply(
        200,
        anthropic.callTool('toolu_big', 'read_file', { repo: 'acme/api', path: 'big.txt' }),
        SSE_HEADERS,
      )
      .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
      .reply(200, anthropic.answer(['It is long.']), SSE_HEADERS);
    await chat(store, agent, testEvent('read big.txt', { threadId: 'big-result' }));
    const last = (bodies[1]?.messages as Array<{ content: Array<{ content: string }> }>).at(-1);
    const content = last?.content[0]?.content ?? '';
    expect(content.length).toBeLessThan(1100);
    expect(content).toMatch(/\[truncated: showing 1000 of 5\d{3} characters\]$/);
  });
  it('masks a configured secret in a tool result before the model, the store or the user sees it', async () => {
    const github = {
      readFile: async () => ({ content: 'ANTHROPIC_API_KEY=sk-ant-test-key\n', ref: 'main' }),
      searchCode: async () => [],
      listFiles: async () => [],
      openPullRequest: async () => ({ url: '', number: 0 }),
      activity: async () => '',
      permissionOf: async () => 'read' as const,
    };
    const agent = await makeAgent(testConfig({ default: 'anthropic:claude-sonnet-4-6' }), { store, github });
    const bodies: Array<Record<string, unknown>> = [];
    nock('https://api.anthropic.com')
      .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
      .reply(
        200,
        anthropic.callTool('toolu_env', 'read_file', { repo: 'acme/api', path: '.env' }),
        SSE_HEADERS,
      )
      .post('/v1/messages', (b) => bodies.push(b as Record<string, unknown>) > 0)
      .reply(200, anthropic.answer(['It holds a key.']), SSE_HEADERS);
    const event = testEvent('what is in .env?', { threadId: 'secret-result' });
    await chat(store, agent, event);
    const sent = JSON.stringify(bodies[1]?.messages);
    expect(sent).not.toContain('sk-ant-test-key');
    expect(sent).toContain('ANTHROPIC_API_KEY=[redacted]');
    const stored = JSON.stringify(await threadMessages(store, event));
    expect(stored).not.toContain('sk-ant-test-key');
  });
});
