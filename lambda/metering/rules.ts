/**
 * What metering needs to know about routes and plans: a call's cost and meter come from the route
 * table (by method and OpenAPI path, never from the log line), and what a customer's units draw on
 * comes from the plan their subscription carries. The stack and the local run build these rules from
 * the same configuration the authorizer decides with.
 */

import type { Overage, Plan } from '../shared/customers/usage-view';

export type { Overage };

/** A usage plan (lambda/shared/customers/usage-view.ts), keyed in `MeteringRules.plans` by the Stripe price it is sold as. */
export type UsagePlan = Plan;

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

export type RouteLookup = (method: string, resourcePath: string) => MeteredRoute | undefined;

/** Exact method first, then `ANY`; undefined for a route that is not sold by use (it costs nothing). */
export function routeLookup(routes: readonly MeteredRoute[]): RouteLookup {
  const table = new Map<string, MeteredRoute>();
  for (const route of routes) table.set(`${route.method.toUpperCase()} ${route.path}`, route);
  return (method, resourcePath) => table.get(`${method.toUpperCase()} ${resourcePath}`) ?? table.get(`ANY ${resourcePath}`);
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
