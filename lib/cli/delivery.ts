import { signPayload } from '../stripe-events/event';
import { CliError, type Context } from './command';

export interface Delivery {
  readonly webhookUrl: string;
  readonly status: number;
  readonly ok: boolean;
  /** The webhook's answer, as text. */
  readonly body: string;
}

/**
 * Posts a payload to the target's webhook, signed as Stripe signs (`t=…,v1=…` over `${t}.${payload}`)
 * with the signing secret the target provides, timestamped now.
 */
export async function deliverSigned(ctx: Context, payload: string, what: string): Promise<Delivery> {
  const target = ctx.target();
  const signature = signPayload(payload, await target.webhookSecret(), Math.floor(ctx.now.getTime() / 1000));
  let response: Response;
  try {
    response = await (ctx.io.fetch ?? fetch)(target.webhookUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Stripe-Signature': signature, 'User-Agent': 'tollgate-cli (Stripe event simulator)' },
      body: payload,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new CliError(`could not reach the webhook at ${target.webhookUrl} to deliver ${what}: ${(err as Error).message}`);
  }
  return { webhookUrl: target.webhookUrl, status: response.status, ok: response.ok, body: await response.text() };
}

/** The `outcome` of a 2xx webhook answer, when it has one. */
export function outcomeOf(body: string): { outcome?: string; cause?: string; detail?: string } {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null) return {};
    const { outcome, cause, detail } = parsed as Record<string, unknown>;
    return {
      ...(typeof outcome === 'string' ? { outcome } : {}),
      ...(typeof cause === 'string' ? { cause } : {}),
      ...(typeof detail === 'string' ? { detail } : {}),
    };
  } catch {
    return {};
  }
}
