/** Renders the admin dashboard (server-side HTML, inline SVG charts) and the token form. */
import { horizontalBarChart, stackedBarChart } from './charts.js';
import type { AdminView } from './data.js';
import { escapeHtml, pageShell } from './html.js';

const STATUS_COLORS: Record<string, string> = {
  queued: '#8a94a6',
  running: '#2f6fd6',
  succeeded: '#2e9d5b',
  failed: '#d24b4b',
  cancelled: '#b08a2e',
};

function badge(status: string): string {
  return `<span class="badge s-${escapeHtml(status)}">${escapeHtml(status)}</span>`;
}

function when(date: Date | string | null | undefined): string {
  if (!date) return '<span class="muted">–</span>';
  const d = new Date(date);
  return `<time datetime="${d.toISOString()}">${d.toISOString().slice(0, 19).replace('T', ' ')}</time>`;
}

function seconds(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 0)} s`;
}

function usd(value: number): string {
  return `$${value.toFixed(value < 1 ? 4 : 2)}`;
}

function table(headers: string[], rows: string[][], empty: string): string {
  if (rows.length === 0) return `<p class="muted">${escapeHtml(empty)}</p>`;
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((cells) => `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function renderDashboard(view: AdminView, links: { jobs?: boolean } = {}): string {
  const cards = Object.entries(view.statusCounts)
    .map(
      ([status, count]) =>
        `<div class="card" data-status="${escapeHtml(status)}"><b>${count.toLocaleString('en-US')}</b><span>${escapeHtml(status)}</span></div>`,
    )
    .join('');

  const activity = stackedBarChart({
    title: `Tasks per day, last ${view.windowDays} days, by status`,
    labels: view.activity.days.map((d) => d.slice(5)),
    series: Object.entries(view.activity.byStatus).map(([name, values]) => ({
      name,
      values,
      color: STATUS_COLORS[name] ?? '#999',
    })),
  });
  const spend = horizontalBarChart({
    title: `Model spend per workspace, last ${view.windowDays} days (USD)`,
    color: '#6b4fd6',
    rows: view.usage
      .slice(0, 12)
      .map((u) => ({ label: u.workspace, value: u.costUsd, display: usd(u.costUsd) })),
  });
  const workload = horizontalBarChart({
    title: `Tasks per workspace, last ${view.windowDays} days`,
    color: '#2f6fd6',
    rows: view.tasksByWorkspace.map((w) => ({
      label: w.workspace,
      value: w.tasks,
      display: `${w.tasks}${w.failed ? ` (${w.failed} failed)` : ''}`,
    })),
  });
  const runChart = horizontalBarChart({
    title: 'Outcomes of the latest sandbox runs',
    color: '#2e9d5b',
    rows: view.runOutcomes.map((r) => ({ label: r.status, value: r.count })),
  });

  const taskRows = view.recentTasks.map((t) => [
    `<code>${escapeHtml(t.id)}</code>`,
    escapeHtml(t.kind),
    escapeHtml(`${t.source.platform}:${t.source.workspaceId ?? '-'}`),
    badge(t.status),
    `<span class="num">${t.attempts}/${t.maxAttempts}</span>`,
    when(t.createdAt),
    t.startedAt && t.finishedAt
      ? seconds(new Date(t.finishedAt).getTime() - new Date(t.startedAt).getTime())
      : '–',
    t.lastError
      ? `<span class="err">${escapeHtml(`${t.lastError.code}: ${t.lastError.message}`)}</span>`
      : '',
  ]);
  const runRows = view.runs.map((r) => [
    badge(r.status),
    escapeHtml(r.command.join(' ').slice(0, 60)),
    escapeHtml(r.image),
    r.exitCode === null || r.exitCode === undefined ? '–' : String(r.exitCode),
    seconds(r.durationMs),
    when(r.startedAt),
    r.taskId ? `<code>${escapeHtml(r.taskId)}</code>` : '',
  ]);
  const scheduleRows = view.schedules.map((s) => [
    escapeHtml(s.name),
    escapeHtml(`${s.platform}:${s.workspaceId}`),
    escapeHtml(s.channelId),
    `<code>${escapeHtml(s.cron)}</code>`,
    escapeHtml(s.timezone),
    s.enabled ? 'yes' : '<span class="muted">no</span>',
    when(s.lastRunAt),
  ]);
  const usageRows = view.usage.map((u) => [
    escapeHtml(u.workspace),
    `<span class="num">${u.modelCalls.toLocaleString('en-US')}</span>`,
    `<span class="num">${u.tokensIn.toLocaleString('en-US')}</span>`,
    `<span class="num">${u.tokensOut.toLocaleString('en-US')}</span>`,
    `<span class="num">${usd(u.costUsd)}</span>`,
  ]);

  const body = `
<header><h1>Deckhand admin</h1>
<form method="post" action="/admin/logout"><span class="muted">generated ${when(view.generatedAt)} UTC</span> <a href="/admin/audit">Audit trail</a>${links.jobs ? ' <a href="/admin/jobs/">Scheduled jobs (agendash)</a>' : ''} <button type="submit">Sign out</button></form></header>
<main>
<div class="cards" id="status-counts">${cards}</div>
<section id="activity"><h2>Tasks per day</h2>${activity}</section>
<div class="grid">
<section id="costs"><h2>Costs per workspace</h2>${spend}
${table(['Workspace', 'Model calls', 'Tokens in', 'Tokens out', 'Cost'], usageRows, 'No model usage in this window.')}</section>
<section id="workload"><h2>Tasks per workspace</h2>${workload}</section>
</div>
<section id="tasks"><h2>Recent tasks</h2>
${table(['Task', 'Kind', 'Workspace', 'Status', 'Attempts', 'Created (UTC)', 'Took', 'Last error'], taskRows, 'No tasks yet.')}</section>
<div class="grid">
<section id="runs"><h2>Sandbox runs</h2>${runChart}
${table(['Status', 'Command', 'Image', 'Exit', 'Took', 'Started (UTC)', 'Task'], runRows, 'No sandbox runs yet.')}</section>
<section id="schedules"><h2>Schedules</h2>
${table(['Name', 'Workspace', 'Channel', 'Cron', 'Time zone', 'Enabled', 'Last run (UTC)'], scheduleRows, 'No schedules yet.')}</section>
</div>
</main>`;
  return pageShell('Deckhand admin', body);
}

export function renderLogin(message?: string): string {
  return pageShell(
    'Deckhand admin: sign in',
    `<form class="login" method="post" action="/admin/login">
<h1>Deckhand admin</h1>
${message ? `<p class="err" role="alert">${escapeHtml(message)}</p>` : ''}
<label for="token">Admin token (DECKHAND_ADMIN_TOKEN)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>`,
  );
}

export function renderNotConfigured(): string {
  return pageShell(
    'Deckhand admin: not configured',
    `<main><section><h1>The admin page is off</h1>
<p>Set <code>DECKHAND_ADMIN_TOKEN</code> (or <code>DECKHAND_ADMIN_TOKEN_FILE</code>) to a long random value and restart Deckhand, then sign in here with it.</p></section></main>`,
  );
}
