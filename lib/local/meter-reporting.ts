import Stripe from 'stripe';
import { StripeMeterReporter, type MeterReporter } from '../../lambda/metering/stripe-meter';
import { fakeMeterEvents, type FakeMeterEvents } from './stripe-api/meter-events';
import { startFakeStripeApi, type FakeStripeApi } from './stripe-api/server';

/**
 * Where the local run reports billed units: Stripe itself when a test-mode API key is given
 * (STRIPE_API_KEY), otherwise the local fake of Stripe's API, so that a bill plan works out of the box.
 */

export interface LocalMeterReporting {
  readonly reporter: MeterReporter;
  /** For the banner: where reports go. */
  readonly description: string;
  /** The fake and its meter events, when reports go to the fake. */
  readonly fake?: { readonly api: FakeStripeApi; readonly meterEvents: FakeMeterEvents };
  close(): Promise<void>;
}

/** Only for the local fake; never a real key. */
export const LOCAL_FAKE_STRIPE_KEY = 'sk_test_tollgate_local_fake';

export async function startLocalMeterReporting(apiKey: string | undefined): Promise<LocalMeterReporting> {
  if (apiKey !== undefined && apiKey !== '') {
    if (!apiKey.startsWith('sk_test_') && !apiKey.startsWith('rk_test_')) {
      throw new Error('STRIPE_API_KEY must be a test-mode key (sk_test_… or rk_test_…) for the local run');
    }
    return {
      reporter: new StripeMeterReporter(new Stripe(apiKey, { maxNetworkRetries: 0, timeout: 5000 })),
      description: 'Stripe test mode (STRIPE_API_KEY)',
      close: () => Promise.resolve(),
    };
  }
  const meterEvents = fakeMeterEvents();
  const api = await startFakeStripeApi({ resources: [meterEvents] });
  return {
    reporter: new StripeMeterReporter(new Stripe(LOCAL_FAKE_STRIPE_KEY, { host: api.host, port: api.port, protocol: 'http', maxNetworkRetries: 0, timeout: 5000 })),
    description: `local fake of Stripe's API ${api.url} (set STRIPE_API_KEY=sk_test_… to report to Stripe test mode)`,
    fake: { api, meterEvents },
    close: () => api.close(),
  };
}
