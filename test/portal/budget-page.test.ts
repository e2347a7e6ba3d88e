import { budgetNotice, budgetSection, capText, resetTime } from '../../lambda/portal/pages/budget';

/** The Budget section's words and its one query parameter, without a store (test/portal/budget.test.ts runs the form). */

describe('the budget section', () => {
  it('says caps and resets in words', () => {
    expect(capText({ limit: 1, window: 'day' })).toBe('1 unit a day (UTC)');
    expect(capText({ limit: 25_000, window: 'period' })).toBe('25,000 units per billing period');
    expect(resetTime(Date.parse('2026-12-08T00:00:00Z') / 1000)).toBe('8 December 2026 at 00:00 UTC');
  });

  it('shows a notice only for the values the route redirects with', () => {
    expect(budgetNotice({ budget: 'set' })).toEqual({ notice: 'set' });
    expect(budgetNotice({ budget: 'removed' })).toEqual({ notice: 'removed' });
    for (const value of ['constructor', 'toString', '__proto__', 'saved', '']) expect(budgetNotice({ budget: value })).toEqual({});
    expect(budgetNotice(null)).toEqual({});
  });

  it('escapes what it shows: key names and the values sent back', () => {
    const section = budgetSection({
      base: '/prod',
      budgets: [{ scope: 'AbCd1234', limit: 5, window: 'day', used: 5, left: 0, resetsAt: 1_796_688_000, expired: false }],
      keys: [{ keyId: 'AbCd1234', name: '<img src=x onerror=alert(1)>' }],
      sessionKeyId: 'ZzZz9999',
      form: { scope: 'AbCd1234', limit: '"><script>', per: 'day', error: 'a budget is a whole number', field: 'limit' },
    }).text;
    expect(section).not.toContain('<img');
    expect(section).not.toContain('<script>');
    expect(section).toContain('Key AbCd1234 (&lt;img src=x onerror=alert(1)&gt;)');
    expect(section).toContain('value="&quot;&gt;&lt;script&gt;"');
    expect(section).toContain('<option value="AbCd1234" selected>');
    expect(section).toContain('none: calls sold by use answer 402 until the reset or a raise');
  });
});
