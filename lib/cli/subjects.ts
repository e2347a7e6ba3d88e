import { linkSubject, SubjectLinkError, unlinkSubject, type SubjectStore } from '../../lambda/shared/customers/subjects';
import { stringValue, UsageError, type OptionSpecs, type Values } from './args';
import { CliError, CUSTOMER_ARGUMENT, customerArg, flushAfter, type CommandSpec } from './command';
import type { Target } from './target';

const SUBJECT_OPTIONS: OptionSpecs = {
  issuer: { type: 'string', value: '<url>', help: 'the issuer, exactly as its tokens carry it in "iss"' },
  subject: { type: 'string', value: '<sub>', help: 'the "sub" of the user\'s tokens' },
};

const subjectStore = (target: Target): SubjectStore => ({ client: target.dynamodb, customersTable: target.tables.customers, eventsTable: target.tables.events });

function issuerAndSubject(values: Values): { issuer: string; subject: string } {
  const issuer = stringValue(values, 'issuer');
  const subject = stringValue(values, 'subject');
  if (issuer === undefined) throw new UsageError('missing --issuer <url>: the issuer URL exactly as its tokens carry it in "iss"');
  if (subject === undefined) throw new UsageError('missing --subject <sub>: the "sub" of the user\'s tokens');
  return { issuer, subject };
}

/** `tollgate customers link-subject`: for issuers configured with `"customer": "subject"`. */
export const linkSubjectCommand: CommandSpec = {
  name: 'link-subject',
  summary: "links a token subject (an issuer's sub) to a customer",
  synopsis: '<cus_id> --issuer <url> --subject <sub>',
  description: [
    'For a trusted issuer configured with "customer": "subject": tokens of that issuer whose sub is',
    '<sub> are decided on this customer\'s payment state. One subject per customer: linking another',
    'replaces it. A subject linked to another customer is refused.',
  ].join('\n'),
  arguments: [CUSTOMER_ARGUMENT],
  options: SUBJECT_OPTIONS,
  run: async (ctx) => {
    const customerId = customerArg(ctx.positionals[0]);
    const { issuer, subject } = issuerAndSubject(ctx.values);
    const target = ctx.target();
    let linked;
    try {
      linked = await linkSubject(subjectStore(target), customerId, issuer, subject);
    } catch (err) {
      if (err instanceof SubjectLinkError) throw new CliError(err.message);
      throw err;
    }
    // A decision cached for this subject's tokens was made on the customer it was linked to before.
    const { note } = await flushAfter(ctx);
    ctx.print(
      `linked ${subject} of ${issuer} to ${customerId}${linked.replaced === undefined ? '' : ` (replacing ${linked.replaced})`}; ${note}`,
      { customerId, issuer, subject, ...(linked.replaced === undefined ? {} : { replaced: linked.replaced }) },
    );
  },
};

/** `tollgate customers unlink-subject`: the reverse of link-subject. */
export const unlinkSubjectCommand: CommandSpec = {
  name: 'unlink-subject',
  summary: 'removes the link of a token subject to its customer',
  synopsis: '--issuer <url> --subject <sub>',
  description: [
    'Tokens of the issuer whose sub is <sub> no longer decide on any customer: they get 401 again. The',
    'customer is found by the link itself; a subject linked to several customers (a broken link, which',
    'the authorizer answers with 503) is unlinked from all of them.',
  ].join('\n'),
  arguments: [],
  options: SUBJECT_OPTIONS,
  run: async (ctx) => {
    const { issuer, subject } = issuerAndSubject(ctx.values);
    const target = ctx.target();
    let unlinked;
    try {
      unlinked = await unlinkSubject(subjectStore(target), issuer, subject);
    } catch (err) {
      if (err instanceof SubjectLinkError) throw new CliError(err.message);
      throw err;
    }
    // A decision cached for this subject's tokens would let them in until its TTL ends.
    const { note } = await flushAfter(ctx);
    ctx.print(`unlinked ${subject} of ${issuer} from ${unlinked.customerIds.join(', ')}; ${note}`, { issuer, subject, customerIds: unlinked.customerIds });
  },
};
