/**
 * Three projects, all run by `npm test` (one of them alone: `npm run test:unit`, `test:integration`,
 * `test:e2e`, or `npx jest --selectProjects unit`):
 * - unit: everything not listed below. No child process, no DynamoDB Local, no synth
 *   (test/support/setup-unit.ts makes each of these fail with where the file belongs).
 * - integration: DynamoDB Local, the local stack in process, synthesized templates, one-shot child
 *   processes (the CLI's bin, eslint, `cdk synth`, a packed client).
 * - e2e: `npm start` as a child process, Chromium, the bench smoke.
 * The integration and e2e projects share one DynamoDB Local; the integration setup also synthesizes
 * the default-context template once for the run (test/support/synth.ts reads it).
 */
const INTEGRATION = [
  'test/authorizer/{faults,handler,jwt,usage}.integration.test.ts',
  'test/agents/{first-call.integration,mppx.integration,purchase.integration,purchase-grant.integration,purchase.property,stack,x402.integration,x402.property}.test.ts',
  'test/authorizer/gateway-response.test.ts',
  'test/alerts/*.{integration,property}.test.ts',
  'test/budgets/*.integration.test.ts',
  'test/credits/*.integration.test.ts',
  'test/cli/budget.test.ts',
  'test/cli/{any-method,cli,deployed,local,parked,report,report-parity.integration,subjects,usage}.test.ts',
  'test/client/package.test.ts',
  'test/shared/customers/{layout,pending-sweep,wallet}.integration.test.ts',
  'test/clock/clock.integration.test.ts',
  'test/report/usage-recoveries.test.ts',
  'test/docs/readme.test.ts',
  'test/lib/{bundling,portal-docs}.test.ts',
  'test/lint/boundaries.test.ts',
  'test/local/{customer-indexes,dynamodb-private,metering-feed,parity,scopes,server,settings,stack,test-billing,tokens,usage}.test.ts',
  'test/mcp/{bundle,client-script,mcp.integration}.test.ts',
  'test/metering/{grants,handler.integration,metering.property,late-units.integration,stripe.integration,windows.integration,write-attributes}.test.ts',
  'test/observability/log-hygiene.test.ts',
  'test/portal/{budget,gateway,handler,settings,writes}.test.ts',
  'test/report/cost.test.ts',
  'test/scripts/vendor.integration.test.ts',
  'test/shared/aws/flush-coordinator.test.ts',
  'test/shared/customers/keys.test.ts',
  'test/stack/{alerts,app-entry,bindings,clock,configuration,construct,custom-domain,issuers,mcp,metering,operations,scale,tollgate-stack}.test.ts',
  'test/webhook/{checkout-link,flows,grants,ordering.property,parking,payment-state,refetch,signature,subscriptions,usage}.test.ts',
];
const E2E = [
  'test/bench/smoke.test.ts',
  'test/package/pack.test.ts',
  'test/browser/portal.test.ts',
  'test/browser/test-checkout-setup.test.ts',
  'test/local/{alerts-e2e,e2e,lifecycle,operations-e2e,operator-page,own-api,reload,usage-e2e,budgets-e2e}.test.ts',
];

const inRoot = (globs) => globs.map((glob) => `<rootDir>/${glob}`);
// Jest substitutes <rootDir> only at the start of a pattern, so a negated one names the folder itself.
const notIn = (globs) => globs.map((glob) => `!${__dirname}/${glob}`);

/** @type {import('jest').Config} */
const shared = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    // Type checking is `npm run typecheck`'s job; jest only transpiles (isolatedModules in tsconfig).
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  snapshotFormat: { escapeString: false, printBasicPrototype: false },
  // A console.error or console.warn a test did not capture fails it (npm test's output stays readable).
  setupFilesAfterEnv: ['<rootDir>/test/support/console-guard.ts'],
};

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 60_000,
  // Integration and e2e files mostly wait on DynamoDB Local and child processes: two workers on two cores.
  maxWorkers: 2,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts', ...notIn([...INTEGRATION, ...E2E])],
      setupFiles: ['<rootDir>/test/support/setup-env.ts', '<rootDir>/test/support/setup-unit.ts'],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: inRoot(INTEGRATION),
      setupFiles: ['<rootDir>/test/support/setup-env.ts'],
      globalSetup: '<rootDir>/test/support/setup-integration.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      ...shared,
      displayName: 'e2e',
      testMatch: inRoot(E2E),
      setupFiles: ['<rootDir>/test/support/setup-env.ts'],
      globalSetup: '<rootDir>/test/support/setup-e2e.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
