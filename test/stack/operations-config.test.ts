import { ConfigError, loadConfig } from '../../lib/config/tollgate-config';
import { DEFAULT_OPERATIONS_CONFIG } from '../../lib/config/operations';

const load = (context: Record<string, unknown>) => loadConfig((key) => context[key]);

describe('operations configuration', () => {
  it('defaults to no alarm destination, 5-minute alarms and 90/30 days of logs', () => {
    expect(load({}).operations).toEqual(DEFAULT_OPERATIONS_CONFIG);
    expect(DEFAULT_OPERATIONS_CONFIG).toMatchObject({ alarmPeriodMinutes: 5, accessLogRetentionDays: 90, functionLogRetentionDays: 30 });
  });

  it('reads cdk.json values and -c strings alike', () => {
    expect(
      load({
        'tollgate:alarmEmail': ' oncall@example.com ',
        'tollgate:alarmTopicArn': 'arn:aws:sns:eu-west-1:123456789012:oncall',
        'tollgate:webhookFailureThreshold': '7',
        'tollgate:functionLogRetentionDays': 14,
      }).operations,
    ).toMatchObject({ alarmEmail: 'oncall@example.com', alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:oncall', webhookFailureThreshold: 7, functionLogRetentionDays: 14 });
  });

  it.each([
    [{ 'tollgate:alarmEmail': 'not an address' }, 'tollgate:alarmEmail is "not an address": use one e-mail address'],
    [{ 'tollgate:alarmTopicArn': 'oncall' }, 'tollgate:alarmTopicArn is "oncall": use an SNS topic ARN'],
    [{ 'tollgate:alarmPeriodMinutes': 0 }, 'tollgate:alarmPeriodMinutes is 0: use a whole number of minutes from 1 to 60'],
    [{ 'tollgate:signatureFailureThreshold': '2.5' }, 'tollgate:signatureFailureThreshold is "2.5": use a whole number of deliveries'],
    [{ 'tollgate:accessLogRetentionDays': 100 }, 'tollgate:accessLogRetentionDays is 100: CloudWatch Logs keeps logs for one of 1, 3, 5'],
  ])('refuses %j with a message that says what to use', (context, message) => {
    expect(() => load(context)).toThrow(ConfigError);
    expect(() => load(context)).toThrow(message);
  });
});
