import * as path from 'node:path';
import { bundle, type BuiltBundle } from '../lib/bundles';
import { exactMeasure } from '../lib/stats';
import type { Figure } from '../lib/types';

const kib = (bytes: number): number => Math.round((bytes / 1024) * 10) / 10;
const top = (b: BuiltBundle): string[] => b.top.map((c) => `${c.name} ${kib(c.bytes)} KiB`);

/** B3: bytes are deterministic, so one build is the measurement (min = median = max). */
export const figure: Figure = {
  id: 'B3',
  title: 'authorizer bundle bytes / default-mainFields bundle and bare-client bundle',
  async run(context) {
    const authorizer = await bundle('authorizer', context.root, context.workDir);
    const defaults = await bundle('authorizerDefaultMainFields', context.root, context.workDir);
    const bare = await bundle('bareDynamoDb', context.root, context.workDir);
    const powertools = await bundle('bareDynamoDbPowertools', context.root, context.workDir);
    const webhook = await bundle('webhook', context.root, context.workDir);
    const stripeFloor = await bundle('dynamoDbStripe', context.root, context.workDir);
    return {
      available: true,
      measures: [
        exactMeasure('authorizer bytes / default mainFields bytes', authorizer.bytes / defaults.bytes, {
          a: kib(authorizer.bytes),
          b: kib(defaults.bytes),
          unit: 'KiB',
          target: { op: '<=', value: 0.7 },
        }),
        exactMeasure('authorizer bytes / bare DynamoDB client bytes', authorizer.bytes / bare.bytes, {
          a: kib(authorizer.bytes),
          b: kib(bare.bytes),
          unit: 'KiB',
          target: { op: '<=', value: 1.1 },
        }),
        exactMeasure('bare client + Powertools bytes / bare client bytes (what the logging mandate costs)', powertools.bytes / bare.bytes, {
          a: kib(powertools.bytes),
          b: kib(bare.bytes),
          unit: 'KiB',
        }),
        exactMeasure('webhook bytes / DynamoDB client + Stripe bytes', webhook.bytes / stripeFloor.bytes, {
          a: kib(webhook.bytes),
          b: kib(stripeFloor.bytes),
          unit: 'KiB',
        }),
      ],
      facts: {
        topContributors: {
          authorizer: top(authorizer),
          authorizerDefaultMainFields: top(defaults),
          bareDynamoDb: top(bare),
          bareDynamoDbPowertools: top(powertools),
          webhook: top(webhook),
          dynamoDbStripe: top(stripeFloor),
        },
        sourceMapKiB: { authorizer: kib(authorizer.sourceMapBytes), webhook: kib(webhook.sourceMapBytes) },
        metafiles: [authorizer, defaults, bare, powertools, webhook, stripeFloor].map((b) => path.relative(context.root, b.metafile)),
      },
      notes: [
        'Bytes of the .js each bundle deploys (the .map beside it is not loaded at start: the stack sets no --enable-source-maps).',
        'Bundled with esbuild\'s JS API and LAMBDA_BUNDLING (lib/bundling.ts); the comparison bundles change only mainFields, or the entry.',
      ],
    };
  },
};
