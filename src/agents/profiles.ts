/**
 * Agent profiles: a system prompt, a model and the tools it may use. A message picks one with
 * `ask <profile> ...`; otherwise the channel's default, otherwise models.defaultProfile.
 */
import type { AgentProfileSettings, NormalizedEvent } from '../core/index.js';

export interface AgentProfile {
  name: string;
  systemPrompt: string;
  /** Model id (`provider:model`) tried first; the chain's fallbacks follow. */
  model: string;
  tools: string[];
}

export interface ProfileSettings {
  default: string;
  defaultProfile: string;
  profiles: Record<string, AgentProfileSettings>;
  channelProfiles: Record<string, string>;
}

/** Used only when config names no profiles at all. */
const BUILTIN_PROFILE: AgentProfileSettings = {
  systemPrompt: 'You are Deckhand, a helpful engineering assistant in a team chat. Answer briefly.',
  tools: ['*'],
};

const ASK = /^\s*ask\s+([a-z][a-z0-9-]*)\b[\s,:]*/i;

export function createProfiles(settings: ProfileSettings) {
  const entries =
    Object.keys(settings.profiles).length > 0 ? settings.profiles : { engineer: BUILTIN_PROFILE };
  const profiles = new Map<string, AgentProfile>(
    Object.entries(entries).map(([name, p]) => [
      name,
      { name, systemPrompt: p.systemPrompt, model: p.model ?? settings.default, tools: p.tools },
    ]),
  );
  const fallback = profiles.get(settings.defaultProfile) ?? [...profiles.values()][0];
  if (!fallback) throw new Error('no agent profile');

  return {
    names: [...profiles.keys()],
    get(name: string): AgentProfile | undefined {
      return profiles.get(name);
    },
    /** `ask reviewer look at this` -> reviewer and `look at this`; unknown names are ordinary words. */
    stripAsk(text: string): { name?: string; text: string } {
      const match = ASK.exec(text);
      const name = match?.[1]?.toLowerCase();
      if (!match || !name || !profiles.has(name)) return { text };
      // `ask reviewer` alone still picks the profile; the words stay so the model gets a message.
      const rest = text.slice(match[0].length);
      return { name, text: rest.trim() ? rest : text };
    },
    pick(event: NormalizedEvent, text: string): { profile: AgentProfile; text: string } {
      const asked = this.stripAsk(text);
      const byChannel = settings.channelProfiles[`${event.platform}:${event.channelId}`];
      const profile =
        (asked.name && profiles.get(asked.name)) || (byChannel && profiles.get(byChannel)) || fallback;
      return { profile, text: asked.text };
    },
  };
}

export type Profiles = ReturnType<typeof createProfiles>;
