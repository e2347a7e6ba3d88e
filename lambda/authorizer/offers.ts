import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { denyOffers, type AgentPayments } from '../shared/agents/offers';
import type { Decision } from '../shared/customers/standing';

/**
 * What a Deny adds to its context when tollgate sells to agents (docs/agents.md): the offers that fit
 * the reason (`offers`, rendered raw into the 402 body) and their HMAC-bound MPP challenges
 * (`wwwAuthenticate`, mapped into the header), and with x402 the packs' `accepts` (`paymentRequired`, mapped into `PAYMENT-REQUIRED`). Runs only for a policy that denies a route: an Allow of every route costs nothing more.
 * Never throws: without the secret the 402 still lists its offers.
 */
export type DenyContextExtension = (decision: Decision, event: APIGatewayRequestAuthorizerEvent, at: Date) => Promise<Readonly<Record<string, string>>>;

export function agentDenyContext(settings: AgentPayments, secret: () => Promise<string>, onSecretError: (err: unknown) => void = () => undefined): DenyContextExtension {
  return async (decision, event, at) => {
    let value: string | undefined;
    try {
      value = await secret();
    } catch (err) {
      onSecretError(err);
    }
    const paymentUrl = decision.context.paymentUrl;
    const { offers, wwwAuthenticate, paymentRequired } = denyOffers(settings, {
      reason: decision.reason,
      denied: decision.verdicts.filter((v) => !v.allow).map((v) => v.route),
      ...(typeof paymentUrl === 'string' ? { paymentUrl } : {}),
      domainName: event.requestContext?.domainName,
      stage: event.requestContext?.stage,
      secret: value,
      expiresAt: new Date(at.getTime() + settings.denyChallengeSeconds * 1000),
    });
    return { offers, wwwAuthenticate, ...(paymentRequired === undefined ? {} : { paymentRequired }) };
  };
}
