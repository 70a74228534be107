import { expect, test } from 'vitest';
import { backoffDelayMs, planEviction, type BudgetMember } from './budget.ts';

const member = (name: string, lastUsedAt: number, extra: Partial<BudgetMember> = {}): BudgetMember => ({ name, group: 'g', vramEstimateMiB: 100, inFlight: 0, lastUsedAt, ...extra });

test('maxRunning evicts the least recently used idle members', () => {
  const plan = planEviction(member('new', 9), [member('a', 3), member('b', 1), member('c', 2)], { maxRunning: 2 });
  expect(plan).toEqual({ ok: true, victims: ['b', 'c'] });
});

test('a VRAM budget evicts until the estimate fits; busy members are never chosen', () => {
  const active = [member('a', 1, { vramEstimateMiB: 300, inFlight: 1 }), member('b', 2, { vramEstimateMiB: 300 })];
  expect(planEviction(member('new', 9, { vramEstimateMiB: 400 }), active, { vramMiB: 800 })).toEqual({ ok: true, victims: ['b'] });
  expect(planEviction(member('new', 9, { vramEstimateMiB: 600 }), active, { vramMiB: 800 })).toEqual({ ok: false, reason: "group 'g' is full and a is serving requests" });
  expect(planEviction(member('new', 9, { vramEstimateMiB: 900 }), [], { vramMiB: 800 }).ok).toBe(false);
});

test('other groups and instances without a group are not counted', () => {
  expect(planEviction(member('new', 9), [member('x', 1, { group: 'other' })], { maxRunning: 1 })).toEqual({ ok: true, victims: [] });
  expect(planEviction(member('new', 9, { group: null }), [member('a', 1)], { maxRunning: 1 })).toEqual({ ok: true, victims: [] });
});

test('back-off doubles from the initial delay up to the cap', () => {
  expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, 100, 500))).toEqual([100, 200, 400, 500, 500]);
});
