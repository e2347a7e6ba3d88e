import { checkBudgetLimit, isBudgetWindow, scopeOf } from '../shared/budgets';
import { removeBudget, setBudget, UnknownKeyForBudgetError } from '../shared/customers/budgets-store';
import { PORTAL_PATHS } from '../shared/portal-paths';
import { readForm, type Answer, type Portal, type RequestContext } from './context';
import { BUDGET_NOTICE_PARAMETER, type BudgetFormState, type BudgetNotice } from './pages/budget';
import { redirect } from './response';
import { accountFor, requireSession } from './signed-in';

/**
 * POST /tollgate/portal/budget: the signed-in customer sets, raises, lowers or removes a spend cap for
 * its whole account or one of its keys, from the account page's Budget section. The rules and the writes
 * are the budget route's (lambda/shared/budgets.ts, customers/budgets-store.ts); this only reads the
 * form. A refused form is the account page again with the error and the fields as sent (200, as a
 * refused sign-in: a browser logs any 4xx page as a failed load), a change a redirect to it (303), so a
 * reload never sends the form twice. The same-origin check of every POST (handler.ts) and the
 * session's SameSite=Strict cookie keep other sites from sending it.
 */

/** A whole number as typed: digits only (the shared rule then checks its range), else no number. */
const typedUnits = (raw: string): number => (/^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN);

export async function budget(ctx: RequestContext, portal: Portal): Promise<Answer> {
  const signedIn = await requireSession(ctx, portal);
  const { customerId } = signedIn.session;
  const fields = readForm(ctx.event);
  const sent = { scope: fields.get('scope') ?? 'customer', limit: (fields.get('limit') ?? '').trim(), per: fields.get('per') ?? 'day' };
  const refuse = (field: BudgetFormState['field'], error: string): Promise<Answer> => accountFor(ctx, portal, signedIn, { form: { ...sent, field, error } });
  const done = (notice: BudgetNotice): Answer => redirect(`${ctx.base}${PORTAL_PATHS.account}?${BUDGET_NOTICE_PARAMETER}=${notice}#budget`);

  let keyId: string | undefined;
  try {
    keyId = sent.scope === 'customer' ? undefined : scopeOf(sent.scope);
  } catch (err) {
    if (err instanceof RangeError) return refuse('scope', 'choose the whole account or one of your keys.');
    throw err;
  }
  const target = { customerId, ...(keyId === undefined ? {} : { keyId }) };
  const scopeLog = keyId === undefined ? 'customer' : 'key';

  const action = fields.get('action');
  if (action === 'remove') {
    const removed = await removeBudget(portal.dynamodb, portal.settings.tables.customers, target);
    portal.logger.info('portal removed a budget', { keyId: signedIn.session.keyId, scope: scopeLog, removed });
    return done(removed ? 'removed' : 'none');
  }
  if (action !== 'set') return refuse('limit', 'send the form from the account page.');
  if (!isBudgetWindow(sent.per)) return refuse('per', 'choose per day or per billing period.');
  const limit = typedUnits(sent.limit);
  try {
    checkBudgetLimit(limit);
  } catch (err) {
    if (err instanceof RangeError) return refuse('limit', `${err.message}, such as 500.`);
    throw err;
  }
  try {
    await setBudget(portal.dynamodb, portal.settings.tables.customers, target, limit, sent.per, portal.now());
  } catch (err) {
    if (err instanceof UnknownKeyForBudgetError) return refuse('scope', 'that key is not one of yours: choose one listed under Keys.');
    throw err;
  }
  portal.logger.info('portal set a budget', { keyId: signedIn.session.keyId, scope: scopeLog, per: sent.per, limit });
  return done('set');
}
