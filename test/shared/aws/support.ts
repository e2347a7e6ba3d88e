import { SecretsManagerClient, type GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';

/** A Secrets Manager client whose reads of `secretId` answer `values` in turn (an Error: that read fails). */
export function fakeSecretsManager(secretId: string, values: Array<string | Error>) {
  const client = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  const send = jest.fn((command: unknown) => {
    expect((command as GetSecretValueCommand).input).toEqual({ SecretId: secretId });
    const next = values.shift();
    return next instanceof Error || next === undefined ? Promise.reject(next ?? new Error('no more values')) : Promise.resolve({ SecretString: next });
  });
  client.send = send;
  return { client, send };
}
