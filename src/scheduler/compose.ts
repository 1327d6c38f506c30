/**
 * A digest as people see it: the facts (GitHub activity over the window) rendered as Slack blocks or
 * a Discord embed, with an optional model-written summary on top. Without a model (or when it fails)
 * the plain template alone is the digest, so a digest never depends on a model being up.
 */
import type { ComposedDigest } from '../core/index.js';
import type { RepoActivity } from '../github/index.js';
import { formatLocal } from './cron.js';

export interface DigestFacts {
  name: string;
  /** Where the digest goes: the model summary is metered against this workspace's budget. */
  destination?: {
    platform: 'slack' | 'discord' | 'github' | 'terminal';
    workspaceId: string;
    channelId: string;
  };
  timezone: string;
  since: Date;
  until: Date;
  repos: RepoActivity[];
}

/** Writes a short summary of the facts; provided by src/agents when a model is configured. */
export type Summarise = (facts: DigestFacts) => Promise<string>;

/** The shape every platform's digest channel posts (src/core/contracts/adapter.ts). */
export type { ComposedDigest } from '../core/index.js';

type Link = (text: string, url: string) => string;

const SLACK_SECTION_MAX = 2900;
const DISCORD_FIELD_MAX = 1000;
const DISCORD_DESCRIPTION_MAX = 4000;
const LIST_SHOWN = 8;

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 2)} …`;
}

function age(hours: number): string {
  return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} d`;
}

function list<T>(items: T[], render: (item: T) => string): string {
  const shown = items.slice(0, LIST_SHOWN).map(render).join(', ');
  return items.length > LIST_SHOWN ? `${shown} and ${items.length - LIST_SHOWN} more` : shown;
}

/** The lines for one repository, with links in the platform's syntax. */
export function repoLines(activity: RepoActivity, link: Link): string[] {
  if (activity.error) return [`⚠️ ${activity.error}`];
  const lines: string[] = [];
  const item = (i: { number: number; title: string; url: string }) => link(`#${i.number} ${i.title}`, i.url);
  if (activity.merged.length) {
    lines.push(
      `✅ Merged (${activity.merged.length}): ${list(activity.merged, (pr) => `${item(pr)} by ${pr.author}`)}`,
    );
  }
  if (activity.waitingForReview.length) {
    lines.push(
      `👀 Waiting for review (${activity.waitingForReview.length}): ${list(
        activity.waitingForReview,
        (pr) =>
          `${item(pr)} (${age(pr.ageHours)} old${pr.reviewers.length ? `, ${pr.reviewers.join(', ')}` : ''})`,
      )}`,
    );
  }
  if (activity.openedIssues.length) {
    lines.push(`🆕 Issues opened (${activity.openedIssues.length}): ${list(activity.openedIssues, item)}`);
  }
  if (activity.closedIssues.length) {
    lines.push(`☑️ Issues closed (${activity.closedIssues.length}): ${list(activity.closedIssues, item)}`);
  }
  if (activity.failingChecks.length) {
    lines.push(
      `❌ Failing on ${activity.defaultBranch}: ${list(activity.failingChecks, (c) =>
        c.url ? link(`${c.name} (${c.conclusion})`, c.url) : `${c.name} (${c.conclusion})`,
      )}`,
    );
  }
  if (activity.contributors.length) {
    lines.push(`🙌 Contributors: ${list(activity.contributors, (who) => who)}`);
  }
  return lines.length ? lines : ['No activity.'];
}

function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const slackLink: Link = (text, url) => `<${url}|${slackEscape(text).replace(/\|/g, '¦')}>`;
const discordLink: Link = (text, url) => `[${text.replace(/[[\]]/g, '')}](${url})`;
const plainLink: Link = (text) => text;

export function composeDigest(facts: DigestFacts, summary?: string): ComposedDigest {
  const repoNames = facts.repos.map((r) => r.repo).join(', ') || 'no repositories';
  const title = cut(`Digest "${facts.name}": ${repoNames}`, 150);
  const window = `Since ${formatLocal(facts.since, facts.timezone)} until ${formatLocal(facts.until, facts.timezone)}`;
  const noRepos =
    facts.repos.length === 0 ? ['No repositories are set for this digest: add repos=owner/name.'] : [];

  const text = [
    title,
    window,
    ...(summary ? ['', summary] : []),
    ...noRepos,
    ...facts.repos.flatMap((r) => ['', r.repo, ...repoLines(r, plainLink).map((l) => `• ${l}`)]),
  ].join('\n');

  const blocks: object[] = [
    { type: 'header', text: { type: 'plain_text', text: title, emoji: true } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: window }] },
  ];
  if (summary)
    // Model-written: escaped, so a `<!channel>` in it shows as text instead of pinging everyone.
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: cut(slackEscape(summary), SLACK_SECTION_MAX) },
    });
  if (noRepos.length) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: noRepos[0] } });
  for (const repo of facts.repos.slice(0, 45)) {
    const body = repoLines(repo, slackLink)
      .map((l) => `• ${l}`)
      .join('\n');
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: cut(`*${repo.repo}*\n${body}`, SLACK_SECTION_MAX) },
    });
  }

  const embed = {
    title: cut(title, 256),
    description: cut([window, summary, ...noRepos].filter(Boolean).join('\n\n'), DISCORD_DESCRIPTION_MAX),
    color: 0x2f81f7,
    timestamp: facts.until.toISOString(),
    fields: facts.repos.slice(0, 25).map((repo) => ({
      name: cut(repo.repo, 256),
      value: cut(
        repoLines(repo, discordLink)
          .map((l) => `• ${l}`)
          .join('\n'),
        DISCORD_FIELD_MAX,
      ),
    })),
  };

  // Slack parses the fallback text as mrkdwn too; titles and the summary are other people's words.
  return { title, text, slack: { text: cut(slackEscape(text), 3000), blocks }, discord: { embeds: [embed] } };
}

/** The digest with a model summary when a summariser is given and answers; the template otherwise. */
export async function composeWithSummary(
  facts: DigestFacts,
  summarise: Summarise | undefined,
  onSummaryError: (error: unknown) => void,
): Promise<ComposedDigest> {
  if (!summarise) return composeDigest(facts);
  try {
    const summary = (await summarise(facts)).trim();
    return composeDigest(facts, summary || undefined);
  } catch (error) {
    onSummaryError(error);
    return composeDigest(facts);
  }
}
