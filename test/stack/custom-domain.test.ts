import { Match } from 'aws-cdk-lib/assertions';
import { ConfigError, loadConfig } from '../../lib/config/tollgate-config';
import { synth } from '../support/synth';

/** tollgate:domainName and tollgate:certificateArn: a regional domain name mapped at the stage's name. */

const CERTIFICATE = 'arn:aws:acm:us-east-1:123456789012:certificate/0f3c2b7e-1111-4a2b-9c3d-123456789abc';

describe('a custom domain', () => {
  it('adds a regional DomainName with the certificate and TLS 1.2, mapped at the stage, with outputs for DNS and the URL', () => {
    // synth() runs cdk-nag's AwsSolutions checks: a finding would fail it.
    const { template } = synth({ 'tollgate:domainName': 'api.example.com', 'tollgate:certificateArn': CERTIFICATE });
    template.resourceCountIs('AWS::ApiGateway::DomainName', 1);
    template.hasResourceProperties('AWS::ApiGateway::DomainName', {
      DomainName: 'api.example.com',
      RegionalCertificateArn: CERTIFICATE,
      EndpointConfiguration: { Types: ['REGIONAL'] },
      SecurityPolicy: 'TLS_1_2',
    });
    template.hasResourceProperties('AWS::ApiGateway::BasePathMapping', {
      BasePath: 'prod',
      DomainName: { Ref: Match.stringLikeRegexp('^CustomDomain') },
      RestApiId: { Ref: Match.stringLikeRegexp('^Api') },
      Stage: { Ref: Match.stringLikeRegexp('^ApiDeploymentStageprod') },
    });
    template.hasOutput('CustomDomainUrl', { Value: 'https://api.example.com/prod/' });
    template.hasOutput('CustomDomainTarget', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CustomDomain'), 'RegionalDomainName'] } });
  });

  it('is absent by default', () => {
    const { template } = synth();
    template.resourceCountIs('AWS::ApiGateway::DomainName', 0);
    template.resourceCountIs('AWS::ApiGateway::BasePathMapping', 0);
  });

  it.each([
    [{ 'tollgate:domainName': 'api.example.com' }, /domainName is set without tollgate:certificateArn/],
    [{ 'tollgate:certificateArn': CERTIFICATE }, /certificateArn is set without tollgate:domainName/],
    [{ 'tollgate:domainName': 'https://api.example.com', 'tollgate:certificateArn': CERTIFICATE }, /domainName is "https:\/\/api.example.com": use a lower-case host name/],
    [{ 'tollgate:domainName': 'api.example.com', 'tollgate:certificateArn': 'arn:aws:iam::123456789012:role/x' }, /certificateArn is .*: use an ACM certificate ARN/],
  ])('names what to change when the pair is incomplete or malformed: %j', (context, message) => {
    const read = (key: string): unknown => (context as Record<string, unknown>)[key];
    expect(() => loadConfig(read)).toThrow(ConfigError);
    expect(() => loadConfig(read)).toThrow(message);
  });
});
