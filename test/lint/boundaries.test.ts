import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/** The layer rules of eslint.config.mjs, applied to an import as if it stood in `file`. */
function restricted(file: string, specifiers: string[]): Record<string, string[]> {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'restricted-imports.mjs'), file, ...specifiers], { encoding: 'utf8' });
  return Object.fromEntries((JSON.parse(out) as Array<{ specifier: string; errors: string[] }>).map((r) => [r.specifier, r.errors]));
}

describe('lint: layer boundaries', () => {
  it('refuses CDK and lib/ imports in lambda code', () => {
    const result = restricted('lambda/authorizer/handler.ts', ['aws-cdk-lib', 'aws-cdk-lib/aws-iam', 'constructs', '../../lib/contract', '../../lib/local/gateway', '../shared/settings', '@aws-sdk/lib-dynamodb']);
    expect(result['aws-cdk-lib']).toEqual([expect.stringMatching(/must run without aws-cdk-lib/)]);
    expect(result['aws-cdk-lib/aws-iam']).toHaveLength(1);
    expect(result.constructs).toHaveLength(1);
    expect(result['../../lib/contract']).toEqual([expect.stringMatching(/must not import from lib\//)]);
    expect(result['../../lib/local/gateway']).toHaveLength(1);
    expect(result['../shared/settings']).toEqual([]);
    expect(result['@aws-sdk/lib-dynamodb']).toEqual([]);
  });

  it("refuses a function importing another function's folder: functions share through lambda/shared/", () => {
    const OTHER_FUNCTION = [expect.stringMatching(/share code only through lambda\/shared\//)];
    expect(restricted('lambda/portal/index.ts', ['../authorizer/decide', '../webhook', '../metering/settings', '../shared/aws/secrets', '../portal/settings', './handler'])).toEqual({
      '../authorizer/decide': OTHER_FUNCTION,
      '../webhook': OTHER_FUNCTION,
      '../metering/settings': OTHER_FUNCTION,
      '../shared/aws/secrets': [],
      '../portal/settings': [],
      './handler': [],
    });
    // From a sub-folder, and from lambda/shared/ itself, which no function may reach back into.
    expect(restricted('lambda/portal/browser/portal.ts', ['../../webhook/verify', '../html', '../../shared/portal-paths'])).toEqual({
      '../../webhook/verify': OTHER_FUNCTION,
      '../html': [],
      '../../shared/portal-paths': [],
    });
    expect(restricted('lambda/shared/customers/store.ts', ['../../authorizer/decide', '../settings', './item'])).toEqual({ '../../authorizer/decide': OTHER_FUNCTION, '../settings': [], './item': [] });
    // The one allowed pair: the dead-letter function parks what metering could not apply, in metering's ledger.
    expect(restricted('lambda/metering-dead-letter/index.ts', ['../metering/store', '../metering-dead-letter/compose', '../webhook/handler'])).toEqual({
      '../metering/store': [],
      '../metering-dead-letter/compose': [],
      '../webhook/handler': OTHER_FUNCTION,
    });
    expect(restricted('lambda/metering/index.ts', ['../metering-dead-letter/compose'])['../metering-dead-letter/compose']).toEqual(OTHER_FUNCTION);
  });

  it('refuses CDK and the CDK topology in the CDK-free tooling', () => {
    for (const file of ['lib/local/run.ts', 'lib/cli/index.ts', 'lib/openapi/build.ts', 'lib/report/queries.ts']) {
      const result = restricted(file, ['aws-cdk-lib', 'cdk-nag', '../tollgate-stack', '../app', '../contract', '../openapi/build', '../../lambda/shared/settings']);
      expect(result['aws-cdk-lib']).toHaveLength(1);
      expect(result['cdk-nag']).toHaveLength(1);
      expect(result['../tollgate-stack']).toEqual([expect.stringMatching(/CDK topology/)]);
      expect(result['../app']).toHaveLength(1);
      expect(result['../contract']).toEqual([]);
      expect(result['../openapi/build']).toEqual([]);
      expect(result['../../lambda/shared/settings']).toEqual([]);
    }
    const deep = restricted('lib/local/gateway/integrations/http-proxy.ts', ['aws-cdk-lib', '../../../tollgate-stack', '../../../contract', '../../../openapi/build']);
    expect(deep).toEqual({
      'aws-cdk-lib': [expect.stringMatching(/must run without aws-cdk-lib/)],
      '../../../tollgate-stack': [expect.stringMatching(/CDK topology/)],
      '../../../contract': [],
      '../../../openapi/build': [],
    });
    expect(restricted('bin/tollgate.ts', ['../lib/app', '../lib/contract'])).toEqual({ '../lib/app': [expect.stringMatching(/CDK topology/)], '../lib/contract': [] });
    expect(restricted('lib/contract.ts', ['aws-cdk-lib'])['aws-cdk-lib']).toHaveLength(1);
  });

  it('keeps the CLI a leaf: nothing outside lib/cli/ imports it but bin/tollgate.ts, on top of the layer rules', () => {
    const cli = expect.stringMatching(/only lib\/cli\/ and bin\/tollgate\.ts import it/);
    expect(restricted('lib/operations.ts', ['./cli/report', './cli', './report/queries'])).toEqual({ './cli/report': [cli], './cli': [cli], './report/queries': [] });
    expect(restricted('lib/local/operator/page.ts', ['../../cli/report', '../../report/queries', 'aws-cdk-lib'])).toEqual({
      '../../cli/report': [cli],
      '../../report/queries': [],
      // The CDK-free rule still holds where both apply.
      'aws-cdk-lib': [expect.stringMatching(/must run without aws-cdk-lib/)],
    });
    expect(restricted('lib/local/gateway/integrations/http-proxy.ts', ['../../../cli/args'])).toEqual({ '../../../cli/args': [cli] });
    expect(restricted('bench/figures/b9-enforcement-lag.ts', ['../../lib/cli/metering', '../../lib/config/tollgate-config'])).toEqual({
      '../../lib/cli/metering': [cli],
      '../../lib/config/tollgate-config': [],
    });
    expect(restricted('lib/cli/report.ts', ['./args', '../report/queries'])).toEqual({ './args': [], '../report/queries': [] });
    expect(restricted('bin/tollgate.ts', ['../lib/cli/index'])).toEqual({ '../lib/cli/index': [] });
  });

  it('lets the CDK topology import what it needs', () => {
    expect(restricted('lib/tollgate-stack.ts', ['aws-cdk-lib', './openapi/build', '../lambda/shared/tables'])).toEqual({
      'aws-cdk-lib': [],
      './openapi/build': [],
      '../lambda/shared/tables': [],
    });
  });
});
