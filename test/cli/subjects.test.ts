import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SUBJECT_ATTRIBUTE } from '../../lambda/shared/customers/subjects';
import { run, startLocalStack, type LocalStack } from './support';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const ISSUER = 'https://login.example.com/';

/** customers link-subject and unlink-subject on a local stack (DynamoDB Local), as a user runs them. */
describe('tollgate customers link-subject / unlink-subject', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack('cli-subjects');
  });
  afterAll(() => stack.stop());

  const storedSubject = async (customerId: string): Promise<string | undefined> => {
    const { Item } = await stack.tables.client.send(new GetItemCommand({ TableName: stack.tables.names.customers, Key: { customerId: { S: customerId } }, ConsistentRead: true }));
    return Item?.[SUBJECT_ATTRIBUTE]?.S;
  };

  it('unlinks a linked subject, says from which customer, and the item no longer carries it', async () => {
    const linked = await run(['customers', 'link-subject', 'cus_cli_subject_a', '--issuer', ISSUER, '--subject', 'user-a'], stack.env);
    expect(linked).toEqual({ code: 0, stdout: `linked user-a of ${ISSUER} to cus_cli_subject_a; authorizer cache flushed\n`, stderr: '' });
    expect(await storedSubject('cus_cli_subject_a')).toBe(`${ISSUER}#user-a`);

    const unlinked = await run(['customers', 'unlink-subject', '--issuer', ISSUER, '--subject', 'user-a'], stack.env);
    expect(unlinked).toEqual({ code: 0, stdout: `unlinked user-a of ${ISSUER} from cus_cli_subject_a; authorizer cache flushed\n`, stderr: '' });
    expect(await storedSubject('cus_cli_subject_a')).toBeUndefined();
    // The customer's item stays; the subject can be linked to another customer now.
    const relinked = await run(['customers', 'link-subject', 'cus_cli_subject_b', '--issuer', ISSUER, '--subject', 'user-a', '--json'], stack.env);
    expect(JSON.parse(relinked.stdout)).toEqual({ customerId: 'cus_cli_subject_b', issuer: ISSUER, subject: 'user-a' });
  });

  it('answers --json with the customers unlinked', async () => {
    await run(['customers', 'link-subject', 'cus_cli_subject_c', '--issuer', ISSUER, '--subject', 'user-c'], stack.env);
    const result = await run(['customers', 'unlink-subject', '--issuer', ISSUER, '--subject', 'user-c', '--json'], stack.env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ issuer: ISSUER, subject: 'user-c', customerIds: ['cus_cli_subject_c'] });
  });

  it('repairs a subject linked to two customers (the authorizer answers it with 503) by unlinking both', async () => {
    // Only a hand edit or another tool can write this: link-subject refuses a second customer.
    await run(['customers', 'link-subject', 'cus_cli_subject_d', '--issuer', ISSUER, '--subject', 'user-d'], stack.env);
    await run(['customers', 'link-subject', 'cus_cli_subject_e', '--issuer', ISSUER, '--subject', 'user-other'], stack.env);
    await stack.tables.client.send(
      new UpdateItemCommand({
        TableName: stack.tables.names.customers,
        Key: { customerId: { S: 'cus_cli_subject_e' } },
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': SUBJECT_ATTRIBUTE },
        ExpressionAttributeValues: { ':s': { S: `${ISSUER}#user-d` } },
      }),
    );
    const result = await run(['customers', 'unlink-subject', '--issuer', ISSUER, '--subject', 'user-d', '--json'], stack.env);
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { customerIds: string[] }).customerIds.sort()).toEqual(['cus_cli_subject_d', 'cus_cli_subject_e']);
    expect([await storedSubject('cus_cli_subject_d'), await storedSubject('cus_cli_subject_e')]).toEqual([undefined, undefined]);
  });

  it.each([
    ['a subject linked to no customer', ['--issuer', ISSUER, '--subject', 'nobody'], `subject "nobody" of ${ISSUER} is not linked to any customer: check the issuer URL`],
    ['a subject of another issuer', ['--issuer', 'https://other.example.com/', '--subject', 'user-a'], 'subject "user-a" of https://other.example.com/ is not linked to any customer'],
    ['an issuer that is no URL', ['--issuer', 'login.example.com', '--subject', 'user-a'], 'invalid issuer "login.example.com": use the issuer URL exactly as tokens carry it in "iss"'],
  ])('exits 1 with a clear message for %s', async (_label, argv, message) => {
    const result = await run(['customers', 'unlink-subject', ...argv], stack.env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
    expect(result.stderr.split('\n')).toHaveLength(2);
    const json = await run(['customers', 'unlink-subject', ...argv, '--json'], stack.env);
    expect(JSON.parse(json.stderr)).toEqual({ error: expect.stringContaining(message) });
  });

  it.each([
    [['--subject', 'user-a'], /missing --issuer <url>/],
    [['--issuer', ISSUER], /missing --subject <sub>/],
    [['cus_a', '--issuer', ISSUER, '--subject', 'user-a'], /unexpected argument "cus_a"/],
  ])('exits 2 with the usage when the usage is %j', async (argv, message) => {
    const result = await run(['customers', 'unlink-subject', ...argv], stack.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('usage: tollgate customers unlink-subject --issuer <url> --subject <sub>');
  });
});
