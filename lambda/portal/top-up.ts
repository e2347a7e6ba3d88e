import type Stripe from 'stripe';
import { topUpIfDue, type TopUpOutcome } from '../shared/auto-top-up';
import { cardLabel, removeTopUp, saveTopUpMethod, saveTopUpSettings, TOP_UP_CARD_METADATA, TopUpConflictError, type SavedCard, type TopUp } from '../shared/customers/top-up';
import { PORTAL_PATHS } from '../shared/portal-paths';
import { returnedSessionId } from './checkout';
import { PageError, readForm, type Answer, type Portal, type RequestContext } from './context';
import { TOP_UP_NOTICE_PARAMETER, type TopUpFormState, type TopUpNotice } from './pages/top-up';
import { redirect } from './response';
import { accountFor, requireSession, type SignedIn } from './signed-in';

/**
 * The account page's auto top-up (shared/customers/top-up.ts): `POST top-up` saves a card (Stripe
 * Checkout in setup mode, back at `GET top-up/saved`), chooses the pack and threshold, or turns it off.
 * A card or settings saved while the credits are already below the threshold charge at once: a
 * customer out of credits makes no call that metering would see. Like the budget form, a refused form
 * is the account page again with the error (200), a change a redirect to it (303).
 */

/** The largest threshold: a pack must lift the credits past it. */
const MAX_THRESHOLD = 1_000_000_000;

const done = (ctx: RequestContext, notice: TopUpNotice): Answer => redirect(`${ctx.base}${PORTAL_PATHS.account}?${TOP_UP_NOTICE_PARAMETER}=${notice}#top-up`);

async function stripeOf(portal: Portal): Promise<Stripe> {
  const stripe = await portal.stripe();
  if (stripe === undefined) throw new PageError(503, 'Payments not configured', 'This API has no Stripe API key configured, so the portal cannot save a card. Ask its operator.');
  return stripe;
}

/** Charges now when the credits are already below the threshold; the notice to show. */
async function chargeIfDue(portal: Portal, stripe: Stripe, signedIn: SignedIn, topUp: TopUp): Promise<TopUpNotice | undefined> {
  const { customerId } = signedIn.customer;
  const outcome: TopUpOutcome = await topUpIfDue(
    { dynamodb: portal.dynamodb, tables: portal.settings.tables, stripe, now: portal.now },
    customerId,
    topUp,
    signedIn.customer.credits,
  );
  if (outcome.outcome !== 'none') portal.logger.info('portal auto top-up', { keyId: signedIn.session.keyId, ...outcome });
  return outcome.outcome === 'charged' ? 'charged' : outcome.outcome === 'failed' ? 'failed' : undefined;
}

export async function topUp(ctx: RequestContext, portal: Portal): Promise<Answer> {
  const signedIn = await requireSession(ctx, portal);
  const { customerId } = signedIn.customer;
  const target = { dynamodb: portal.dynamodb, table: portal.settings.tables.customers, customerId };
  const fields = readForm(ctx.event);
  const action = fields.get('action');
  if (action === 'remove') {
    await removeTopUp(target);
    portal.logger.info('portal turned auto top-up off', { keyId: signedIn.session.keyId });
    return done(ctx, 'removed');
  }
  const { creditPacks } = portal.settings.catalog;
  if (creditPacks.length === 0) throw new PageError(404, 'No credit packs', 'This API sells no credit packs, so there is nothing to top up with.');
  if (action === 'card') {
    const session = await (await stripeOf(portal)).checkout.sessions.create({
      mode: 'setup',
      customer: customerId,
      allowed_payment_method_types: ['card'],
      setup_intent_data: { metadata: { [TOP_UP_CARD_METADATA]: customerId }, description: 'auto top-up of credits' },
      success_url: `${ctx.origin}${ctx.base}${PORTAL_PATHS.topUpSaved}?session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `${ctx.origin}${ctx.base}${PORTAL_PATHS.account}#top-up`,
    });
    if (session.url === null) throw new Error('stripe returned a checkout session without a url');
    return redirect(session.url);
  }
  const sent = { pack: fields.get('pack') ?? '', below: (fields.get('below') ?? '').trim() };
  const refuse = (field: TopUpFormState['field'], error: string): Promise<Answer> => accountFor(ctx, portal, signedIn, {}, { form: { ...sent, field, error } });
  if (action !== 'set') return refuse('below', 'send the form from the account page.');
  const pack = creditPacks.find((p) => p.id === sent.pack);
  if (pack === undefined) return refuse('pack', 'choose one of the packs listed.');
  const below = /^\d{1,10}$/.test(sent.below) ? Number(sent.below) : Number.NaN;
  if (!(below >= 1 && below <= MAX_THRESHOLD)) return refuse('below', 'give the threshold as a whole number of units, such as 100.');
  if (below >= pack.credits) return refuse('below', `a top-up must lift your credits past the threshold: choose a threshold below the pack's ${pack.credits} credits, or a bigger pack.`);
  const current = signedIn.customer.topUp;
  const chosen = { pack: pack.id, credits: pack.credits, price: pack.price, ...(pack.expiresIn === undefined ? {} : { expiresIn: pack.expiresIn }) };
  try {
    await saveTopUpSettings(target, current, chosen, below, portal.now());
  } catch (err) {
    if (err instanceof TopUpConflictError) return done(ctx, 'busy');
    throw err;
  }
  portal.logger.info('portal set auto top-up', { keyId: signedIn.session.keyId, pack: pack.id, below });
  const saved: TopUp = { ...chosen, below, state: 'armed', ...(current?.method === undefined ? {} : { method: current.method }) };
  const charged = saved.method === undefined ? undefined : await chargeIfDue(portal, await stripeOf(portal), signedIn, saved);
  return done(ctx, charged ?? 'set');
}

/** The card a completed setup checkout saved: its PaymentMethod id, "visa …4242", and when it was set up. */
async function savedCard(stripe: Stripe, sessionId: string, customerId: string): Promise<SavedCard & { readonly label: string }> {
  const session = await stripe.checkout.sessions.retrieve(sessionId, { expand: ['setup_intent.payment_method'] });
  const owner = typeof session.customer === 'string' ? session.customer : session.customer?.id;
  if (session.mode !== 'setup' || owner !== customerId) throw new PageError(403, 'Not your card', 'This checkout did not save a card for the signed-in customer. Nothing was changed.');
  const intent = session.setup_intent;
  if (session.status !== 'complete' || intent === null || typeof intent === 'string' || intent.status !== 'succeeded' || intent.payment_method === null) {
    throw new PageError(402, 'No card saved', 'This checkout did not save a card. Nothing was changed: try again from the account page.');
  }
  const pm = intent.payment_method;
  return { method: typeof pm === 'string' ? pm : pm.id, label: cardLabel(pm), setAt: intent.created };
}

/** `GET top-up/saved`: back from Checkout in setup mode, the card is kept, and the top-up armed again. */
export async function topUpSaved(ctx: RequestContext, portal: Portal): Promise<Answer> {
  const signedIn = await requireSession(ctx, portal);
  const { customerId } = signedIn.customer;
  const sessionId = returnedSessionId(ctx);
  const stripe = await stripeOf(portal);
  const card = await savedCard(stripe, sessionId, customerId);
  try {
    // A card set up after this one (told by Stripe's setup_intent.succeeded first) stays: nothing to charge with this one.
    if ((await saveTopUpMethod({ dynamodb: portal.dynamodb, table: portal.settings.tables.customers, customerId }, card, portal.now())) === 'stale') return done(ctx, 'card');
  } catch (err) {
    if (err instanceof TopUpConflictError) return done(ctx, 'busy');
    throw err;
  }
  portal.logger.info('portal saved a card for auto top-up', { keyId: signedIn.session.keyId });
  const current = signedIn.customer.topUp;
  const saved: TopUp = { ...current, method: card.method, methodLabel: card.label, state: 'armed' };
  const charged = await chargeIfDue(portal, stripe, signedIn, saved);
  return done(ctx, charged ?? 'card');
}
