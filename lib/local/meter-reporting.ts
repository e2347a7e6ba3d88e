import { StreamMeterReporter } from '../../lambda/metering/meter-event-stream';
import type { MeterReporter } from '../../lambda/metering/stripe-meter';
import type { LocalStripe } from './stripe-run';

/**
 * Where the local run reports billed units: Stripe itself when a test-mode API key is given
 * (STRIPE_API_KEY), otherwise the run's local fake of Stripe's API (stripe-run.ts), so that a bill plan
 * works out of the box.
 */

export interface LocalMeterReporting {
  readonly reporter: MeterReporter;
  /** For the banner: where reports go. */
  readonly description: string;
}

export function localMeterReporting(stripe: LocalStripe): LocalMeterReporting {
  return {
    reporter: new StreamMeterReporter(stripe.client({ maxNetworkRetries: 0, timeout: 5000 })),
    description:
      stripe.fake === undefined
        ? 'Stripe test mode (STRIPE_API_KEY)'
        : `local fake of Stripe's API ${stripe.fake.api.url} (set STRIPE_API_KEY=sk_test_… to report to Stripe test mode)`,
  };
}
