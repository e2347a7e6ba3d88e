import { makePortalHandler, type PortalDeps } from './handler';
import type { PortalSettings } from './settings';

/** What the portal talks to (everything but its settings); the local run gives its own: the fake Stripe, a random session secret. */
export type PortalClients = Omit<PortalDeps, 'settings'>;

export type PortalHandler = ReturnType<typeof makePortalHandler>;

/** The portal, wired once: index.ts and the local run build it here. */
export function composePortal(settings: PortalSettings, clients: PortalClients): PortalHandler {
  return makePortalHandler({ settings, ...clients });
}
