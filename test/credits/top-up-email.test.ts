import { renderEmail } from '../../lambda/alerts/email';
import { decodeAlertItem } from '../../lambda/shared/alerts/outbox';
import { topUpFailedAlert } from '../../lambda/shared/auto-top-up';

// A failed auto top-up's alert: one item per attempt (its id names the attempt), decoded by the alerts
// function like the rules' alerts, and the customer's e-mail says what failed, that nothing was taken, and what to do.

const NOW = new Date('2026-12-07T12:00:00Z');
const FAILED = { customerId: 'cus_Mail1', attempt: 'tu_0123456789012345678901', failure: 'insufficient_funds', topUp: { state: 'charging' as const, pack: 'credits_100', credits: 100 } };

describe("a failed auto top-up's alert", () => {
  it('is one item per attempt, delivered as tollgate.customer.auto_top_up_failed', () => {
    const item = topUpFailedAlert(FAILED, NOW);
    expect(item).toMatchObject({ eventId: 'alert#cus_Mail1#topup#tu_0123456789012345678901', detailType: 'tollgate.customer.auto_top_up_failed', detail: { rule: 'topUp', failure: 'insufficient_funds', pack: 'credits_100', credits: 100 } });
    expect(topUpFailedAlert(FAILED, new Date(NOW.getTime() + 60_000)).eventId).toBe(item.eventId);
    expect(decodeAlertItem({ ...item })).toMatchObject({ customerId: 'cus_Mail1', sent: new Set() });
  });

  it('e-mails the customer why, that nothing was added, and where to save another card', () => {
    const alert = decodeAlertItem({ ...topUpFailedAlert(FAILED, NOW) })!;
    const mail = renderEmail(alert, 'buyer@example.com', 'https://api.example.com/prod/tollgate/portal/account');
    expect(mail.subject).toBe('Your automatic credit top-up failed');
    expect(mail.text).toContain('We tried to buy 100 credits with your saved card because your credits fell below your top-up threshold, but the card has insufficient funds. No credits were added and no money was taken.');
    expect(mail.text).toContain('402 top_up_failed');
    expect(mail.text).toContain('Your account: https://api.example.com/prod/tollgate/portal/account');
    expect(mail.html).toContain('<p>Auto top-up is paused.');
  });
});
