// Replaced by the webhook issue: refuses every event until then, so Stripe keeps retrying.
export const handler = (): Promise<{ statusCode: number; body: string }> =>
  Promise.resolve({ statusCode: 503, body: '{"title":"not yet implemented"}' });
