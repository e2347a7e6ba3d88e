/**
 * What metering needs to know about routes and plans: a call's cost and meter come from the route
 * table (by method and OpenAPI path, never from the log line), and what a customer's units draw on
 * comes from the plan their subscription carries. The stack and the local run build these rules from
 * the same configuration the authorizer decides with.
 */

export type Overage = 'block' | 'bill';

/** A usage plan, keyed in `MeteringRules.plans` by the Stripe price (lookup key, else id) it is sold as. */
export interface UsagePlan {
  readonly name: string;
  /** Units included per billing period. @default - none: every unit draws on credits (or the meter) */
  readonly quota?: number;
  /** Past the quota (and the credits): `block` answers 402 quota_exceeded, `bill` reports the units to `meter`. */
  readonly overage: Overage;
  /** The Stripe meter's `event_name` the billed units go to. */
  readonly meter?: string;
}

/** A route sold by use. */
export interface MeteredRoute {
  /** Upper-case HTTP method (`ANY` matches every method). */
  readonly method: string;
  /** OpenAPI path template, as `$context.resourcePath` logs it. */
  readonly path: string;
  /** Units per successful call. */
  readonly cost: number;
  /** Reserved from the credits at decision time by the authorizer. */
  readonly strict?: boolean;
  /** Billed units of this route go to this Stripe meter instead of the plan's. */
  readonly meter?: string;
}

export interface MeteringRules {
  readonly routes: readonly MeteredRoute[];
  readonly plans: Readonly<Record<string, UsagePlan>>;
}

export class MeteringRulesError extends Error {
  override readonly name = 'MeteringRulesError';
}

export type RouteLookup = (method: string, resourcePath: string) => MeteredRoute | undefined;

/** Exact method first, then `ANY`; undefined for a route that is not sold by use (it costs nothing). */
export function routeLookup(routes: readonly MeteredRoute[]): RouteLookup {
  const table = new Map<string, MeteredRoute>();
  for (const route of routes) table.set(`${route.method.toUpperCase()} ${route.path}`, route);
  return (method, resourcePath) => table.get(`${method.toUpperCase()} ${resourcePath}`) ?? table.get(`ANY ${resourcePath}`);
}

const METER_EVENT_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

/** Validates rules given as JSON (the environment, a test): what is wrong and what to change. */
export function parseMeteringRules(value: unknown): MeteringRules {
  const at = (path: string, what: string): never => {
    throw new MeteringRulesError(`metering rules: ${path} ${what}`);
  };
  if (typeof value !== 'object' || value === null) return at('', 'must be an object with routes and plans');
  const { routes, plans } = value as { routes?: unknown; plans?: unknown };
  if (!Array.isArray(routes)) return at('routes', 'must be a list');
  if (typeof plans !== 'object' || plans === null || Array.isArray(plans)) return at('plans', 'must be an object keyed by Stripe price');
  const meter = (v: unknown, path: string): string | undefined =>
    v === undefined ? undefined : typeof v === 'string' && METER_EVENT_NAME.test(v) ? v : at(path, 'must be a Stripe meter event name');
  const parsedRoutes = routes.map((r: unknown, i): MeteredRoute => {
    const route = (typeof r === 'object' && r !== null ? r : at(`routes[${i}]`, 'must be an object')) as Record<string, unknown>;
    const cost = route.cost;
    if (typeof route.method !== 'string' || typeof route.path !== 'string') return at(`routes[${i}]`, 'needs a method and a path');
    if (typeof cost !== 'number' || !Number.isInteger(cost) || cost < 0) return at(`routes[${i}].cost`, 'must be a whole number of units ≥ 0');
    const routeMeter = meter(route.meter, `routes[${i}].meter`);
    return {
      method: route.method.toUpperCase(),
      path: route.path,
      cost,
      ...(route.strict === true ? { strict: true } : {}),
      ...(routeMeter === undefined ? {} : { meter: routeMeter }),
    };
  });
  const parsedPlans: Record<string, UsagePlan> = {};
  for (const [price, p] of Object.entries(plans as Record<string, unknown>)) {
    const plan = (typeof p === 'object' && p !== null ? p : at(`plans.${price}`, 'must be an object')) as Record<string, unknown>;
    const quota = plan.quota;
    if (quota !== undefined && (typeof quota !== 'number' || !Number.isInteger(quota) || quota < 0)) at(`plans.${price}.quota`, 'must be a whole number ≥ 0');
    if (plan.overage !== 'block' && plan.overage !== 'bill') at(`plans.${price}.overage`, 'must be "block" or "bill"');
    const planMeter = meter(plan.meter, `plans.${price}.meter`);
    if (plan.overage === 'bill' && planMeter === undefined) at(`plans.${price}.meter`, 'is needed by a bill plan: name the Stripe meter event');
    parsedPlans[price] = {
      name: typeof plan.name === 'string' ? plan.name : price,
      ...(quota === undefined ? {} : { quota: quota as number }),
      overage: plan.overage as Overage,
      ...(planMeter === undefined ? {} : { meter: planMeter }),
    };
  }
  return { routes: parsedRoutes, plans: parsedPlans };
}

/** A route as the authorizer's route table carries it, with what it sells by use (if anything). */
export interface UsageRoute {
  readonly method: string;
  readonly path: string;
  readonly usage?: { readonly cost: number; readonly strict?: boolean; readonly meter?: string };
}

/** The metering rules from the authorizer's route table and the configured plans (one source for both). */
export function meteringRulesFrom(routes: readonly UsageRoute[], plans: Readonly<Record<string, UsagePlan>>): MeteringRules {
  return {
    routes: routes.flatMap((r) =>
      r.usage === undefined
        ? []
        : [{ method: r.method, path: r.path, cost: r.usage.cost, ...(r.usage.strict === true ? { strict: true } : {}), ...(r.usage.meter === undefined ? {} : { meter: r.usage.meter }) }],
    ),
    plans,
  };
}
