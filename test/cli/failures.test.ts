import { describeFailure, oneLine } from '../../lib/cli/failures';
import { ConfigError } from '../../lib/config/tollgate-config';
import { KeyNotFoundError } from '../../lambda/shared/customers/keys';

const named = (name: string, message: string): Error => Object.assign(new Error(message), { name });

describe('describeFailure', () => {
  it.each([
    ['a domain error', new KeyNotFoundError('no API key "Zz9Zz9Zz": check the id with keys list'), {}, 'no API key "Zz9Zz9Zz": check the id with keys list'],
    [
      'a configuration error listing problems',
      new ConfigError(['tollgate:gracePeriodHours must be 0 to 1440, got -1', 'tollgate:stageName must be letters']),
      {},
      'invalid tollgate configuration: tollgate:gracePeriodHours must be 0 to 1440, got -1; tollgate:stageName must be letters: fix cdk.json (tollgate:* context)',
    ],
    [
      'refused credentials',
      named('ExpiredTokenException', 'The security token included in the request is expired'),
      { target: 'deployed', profile: 'prod' },
      'AWS refused the credentials of profile "prod" (ExpiredTokenException: The security token included in the request is expired): sign in with aws sso login --profile <name> (or aws configure --profile <name>), then pass --profile <name> or set AWS_PROFILE=<name>; or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    ],
    [
      'an unreachable local stack',
      named('TypeError', 'fetch failed'),
      { target: 'local' },
      'the local stack did not answer (TypeError: fetch failed): is it running? (npm start, or check --outputs/--region)',
    ],
    ['any other AWS error', named('AccessDeniedException', 'not authorized to perform: dynamodb:Scan'), { target: 'deployed' }, 'failed: AccessDeniedException: not authorized to perform: dynamodb:Scan'],
  ] as const)('words %s for people', (_label, err, context, message) => {
    expect(oneLine(describeFailure(err, context))).toBe(message);
  });

  it('keeps a multi-line message on one line', () => {
    expect(oneLine(describeFailure(named('Weird', 'first\n    at somewhere (file.ts:1:1)\nsecond'), {}))).toBe('failed: Weird: first at somewhere (file.ts:1:1) second');
  });
});
