/** An instance as the budget sees it. */
export interface BudgetMember {
  name: string;
  group: string | null;
  vramEstimateMiB: number;
  /** Requests in flight: a busy instance is never stopped to make room. */
  inFlight: number;
  /** The later of its last request and its start: the least recently used goes first. */
  lastUsedAt: number;
}

export interface GroupBudget {
  maxRunning?: number;
  vramMiB?: number;
}

/** What {@link planEviction} decides. */
export type EvictionPlan = { ok: true; victims: string[] } | { ok: false; reason: string };

/**
 * Which active instances of `target`'s group to stop, least recently used first, so that it fits
 * the group's budget (instance count and estimated VRAM). Pure: the caller stops the victims.
 * Busy instances (requests in flight) are never chosen; when the rest cannot make room, the plan
 * says why.
 */
export function planEviction(target: BudgetMember, active: readonly BudgetMember[], budget: GroupBudget | undefined): EvictionPlan {
  if (!budget || target.group === null) return { ok: true, victims: [] };
  if (budget.vramMiB !== undefined && target.vramEstimateMiB > budget.vramMiB) {
    return { ok: false, reason: `instance '${target.name}' needs about ${target.vramEstimateMiB} MiB, more than group '${target.group}' allows (${budget.vramMiB} MiB)` };
  }
  const members = active.filter((m) => m.group === target.group && m.name !== target.name);
  const fits = (rest: readonly BudgetMember[]) =>
    (budget.maxRunning === undefined || rest.length + 1 <= budget.maxRunning) &&
    (budget.vramMiB === undefined || rest.reduce((sum, m) => sum + m.vramEstimateMiB, 0) + target.vramEstimateMiB <= budget.vramMiB);
  const candidates = members.filter((m) => m.inFlight === 0).sort((a, b) => a.lastUsedAt - b.lastUsedAt || a.name.localeCompare(b.name));
  let rest = [...members];
  const victims: string[] = [];
  for (const candidate of candidates) {
    if (fits(rest)) break;
    victims.push(candidate.name);
    rest = rest.filter((m) => m.name !== candidate.name);
  }
  if (!fits(rest)) {
    const busy = members.filter((m) => m.inFlight > 0).map((m) => m.name);
    return { ok: false, reason: `group '${target.group}' is full${busy.length ? ` and ${busy.join(', ')} ${busy.length === 1 ? 'is' : 'are'} serving requests` : ''}` };
  }
  return { ok: true, victims };
}

/** Crash restart delay: `initial · 2^(attempt-1)`, capped at `max`. */
export function backoffDelayMs(attempt: number, initial: number, max: number): number {
  return Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
}
