/**
 * Tokens and money: each model call's cost from the price table, per message (stored on it), per task
 * and per workspace (sums over messages). A workspace over its monthly budget (models.budgets for it, else
 * models.monthlyBudgetUsd) gets no more model calls; the reply that takes it past 80% carries a heads-up.
 * Month spend is cached per workspace for a short while so a turn does not rescan the month's messages.
 */
import type { Logger, ModelPrice } from '../core/index.js';
import type { Store, UsageTotals } from '../store/index.js';
import { splitModelId } from './types.js';

export interface UsageSummary extends UsageTotals {
  workspaceKey: string;
  /** `2026-11`, UTC. */
  month: string;
  budgetUsd: number;
}

export function monthStart(now: Date = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

function monthLabel(now: Date): string {
  return now.toISOString().slice(0, 7);
}

/** When this month's budget resets: the first of next month, UTC (`2027-01-01`). */
export function budgetResetDay(now: Date = new Date()): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString().slice(0, 10);
}

/** Share of the budget at which the reply that crosses it warns (once per workspace per month). */
export const BUDGET_WARNING_SHARE = 0.8;

/** Usage of a workspace (`platform:workspaceId`) this month, for `status` and reports. */
export async function usageSummary(
  store: Pick<Store, 'usageSummary'>,
  workspaceKey: string,
  budgetUsd: number,
  now: Date = new Date(),
): Promise<UsageSummary> {
  const totals = await store.usageSummary({ workspaceKey, since: monthStart(now) });
  return { ...totals, workspaceKey, month: monthLabel(now), budgetUsd };
}

/** Usage of one task (all its model calls, summaries included). */
export async function taskUsage(store: Pick<Store, 'usageSummary'>, taskId: string): Promise<UsageTotals> {
  return store.usageSummary({ taskId });
}

export function formatUsd(usd: number): string {
  return `$${usd < 1 && usd > 0 ? usd.toFixed(4) : usd.toFixed(2)}`;
}

export function formatUsage(summary: UsageSummary): string {
  return `Model usage in ${summary.month}: ${summary.modelCalls} call(s), ${summary.tokensIn} tokens in, ${summary.tokensOut} out, ${formatUsd(summary.costUsd)} of the ${formatUsd(summary.budgetUsd)} monthly budget.`;
}

export interface CostMeterOptions {
  store: Pick<Store, 'usageSummary'>;
  prices: Record<string, ModelPrice>;
  monthlyBudgetUsd: number;
  /** Per-workspace budgets (`platform:workspaceId` -> USD); each wins over monthlyBudgetUsd. */
  budgets?: Record<string, number>;
  logger?: Logger;
  /** How long a workspace's month spend is trusted before it is summed again (other replicas spend too). */
  cacheMs?: number;
  /** Told of every model call that was charged (the process's metrics: tokens and cost per model). */
  onCall?: (call: ModelCallCharge) => void;
}

export interface ModelCallCharge {
  workspaceKey: string;
  modelId: string;
  /** The modelId's two parts (`anthropic:claude-...` -> anthropic, claude-...). */
  provider: string;
  model: string;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
}

export function createCostMeter(options: CostMeterOptions) {
  const cacheMs = options.cacheMs ?? 30_000;
  const spend = new Map<string, { month: string; usd: number; loadedAt: number }>();
  const unpriced = new Set<string>();
  // Workspace -> month of its last 80% heads-up. In memory per process (no store collection fits), so a
  // restart could warn again; budgetWarning also requires the turn itself to cross 80%, which keeps repeats rare.
  const warned = new Map<string, string>();
  const budgets = options.budgets ?? {};

  function budgetFor(workspaceKey: string): number {
    return Object.hasOwn(budgets, workspaceKey)
      ? (budgets[workspaceKey] ?? options.monthlyBudgetUsd)
      : options.monthlyBudgetUsd;
  }

  /** The config setting an admin changes to raise this workspace's budget. */
  function settingFor(workspaceKey: string): string {
    return Object.hasOwn(budgets, workspaceKey)
      ? `models.budgets["${workspaceKey}"]`
      : 'models.monthlyBudgetUsd';
  }

  async function spent(workspaceKey: string): Promise<number> {
    const now = new Date();
    const month = monthLabel(now);
    const cached = spend.get(workspaceKey);
    if (cached && cached.month === month && Date.now() - cached.loadedAt < cacheMs) return cached.usd;
    const totals = await options.store.usageSummary({ workspaceKey, since: monthStart(now) });
    spend.set(workspaceKey, { month, usd: totals.costUsd, loadedAt: Date.now() });
    return totals.costUsd;
  }

  return {
    budgetUsd: options.monthlyBudgetUsd,

    costOf(modelId: string, tokensIn: number, tokensOut: number): number {
      const price = options.prices[modelId];
      if (!price) {
        if (!unpriced.has(modelId)) {
          unpriced.add(modelId);
          options.logger?.warn({ model: modelId }, 'no price for this model in models.prices: counted as $0');
        }
        return 0;
      }
      return (tokensIn * price.inputPerMTok + tokensOut * price.outputPerMTok) / 1_000_000;
    },

    /** Adds a recorded call's cost to the cached month spend (and reports the call, when given). */
    add(
      workspaceKey: string,
      usd: number,
      call?: { modelId: string; tokensIn: number; tokensOut: number },
    ): void {
      const cached = spend.get(workspaceKey);
      if (cached) cached.usd += usd;
      // Only model ids a provider was called with reach here, so they parse.
      if (call && options.onCall)
        options.onCall({ workspaceKey, costUsd: usd, ...call, ...splitModelId(call.modelId) });
    },

    spent,

    budgetFor,

    /** undefined when the workspace may call models; otherwise the message to show. */
    async overBudget(workspaceKey: string): Promise<string | undefined> {
      const usd = await spent(workspaceKey);
      const budget = budgetFor(workspaceKey);
      if (usd < budget) return undefined;
      return `This workspace has used ${formatUsd(usd)} of its ${formatUsd(budget)} monthly model budget, so I am not calling a model until the budget resets on ${budgetResetDay()} (UTC). Commands still work; an admin can raise ${settingFor(workspaceKey)}.`;
    },

    /**
     * The heads-up line for a reply whose turn took the month spend from below 80% of the budget
     * (`spentBefore`, read when the turn started) to 80% or more; undefined otherwise, and after the
     * first heads-up of the month.
     */
    async budgetWarning(workspaceKey: string, spentBefore: number): Promise<string | undefined> {
      const budget = budgetFor(workspaceKey);
      const threshold = budget * BUDGET_WARNING_SHARE;
      if (budget <= 0 || spentBefore >= threshold) return undefined;
      const usd = await spent(workspaceKey);
      const month = monthLabel(new Date());
      if (usd < threshold || warned.get(workspaceKey) === month) return undefined;
      warned.set(workspaceKey, month);
      const line = `Heads-up: this workspace has used ${Math.floor((usd / budget) * 100)}% of its ${formatUsd(budget)} monthly model budget.`;
      return usd < budget
        ? line
        : `${line} I will not call a model again until the budget resets on ${budgetResetDay()} (UTC).`;
    },
  };
}

export type CostMeter = ReturnType<typeof createCostMeter>;
