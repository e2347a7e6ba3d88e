import fc from 'fast-check';
import { budgetEntryString, budgetOpenAfter, MAX_BUDGET_LIMIT, parseBudgetEntry, type BudgetEntry } from '../../lambda/shared/budgets';

// A budget is stored as one string whose order is its window end's order: the reservation's condition relies on it.

const entry = fc.record({
  limit: fc.integer({ min: 1, max: MAX_BUDGET_LIMIT }),
  window: fc.constantFrom('day' as const, 'period' as const),
  resetsAt: fc.integer({ min: 1_000_000_000, max: 9_999_999_999 }),
});

describe('a stored budget string', () => {
  it('reads back as the budget it was written from', () => {
    expect(budgetEntryString({ limit: 500, window: 'day', resetsAt: 1_767_225_600 })).toBe('1767225600 day 500');
    fc.assert(fc.property(entry, (e) => expect(parseBudgetEntry(budgetEntryString(e))).toEqual(e)));
  });

  it('is at least budgetOpenAfter(now) exactly when its window ends after now, as the condition compares strings', () => {
    fc.assert(
      fc.property(entry, fc.integer({ min: 999_999_999, max: 9_999_999_998 }), (e: BudgetEntry, now) => {
        // DynamoDB compares strings by their UTF-8 bytes, as JavaScript's < does on these ASCII strings.
        expect(budgetEntryString(e) >= budgetOpenAfter(now)).toBe(e.resetsAt > now);
      }),
    );
    expect('1767225600 day 5' >= budgetOpenAfter(1_767_225_600)).toBe(false);
    expect('1767225600 day 5' >= budgetOpenAfter(1_767_225_599)).toBe(true);
  });

  it('refuses an end that is not ten digits, and reads nothing from a string of another shape', () => {
    expect(() => budgetEntryString({ limit: 1, window: 'day', resetsAt: 999_999_999 })).toThrow(/ten digits/);
    expect(() => budgetEntryString({ limit: 1, window: 'day', resetsAt: 1.5e9 + 0.5 })).toThrow(/ten digits/);
    for (const bad of ['', '1767225600 day', '1767225600 week 5', '1767225600 day 0', '1767225600 day -1', '176722560 day 5', `1767225600 day ${MAX_BUDGET_LIMIT + 1}`, '1767225600  day 5']) {
      expect(parseBudgetEntry(bad)).toBeUndefined();
    }
  });
});
