import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { linkSubject, SUBJECT_ATTRIBUTE, SubjectLinkError, unlinkSubject } from '../../lambda/shared/customers/subjects';
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

  it('links a subject to exactly one of two customers linking it at once; the other gets a clear error', async () => {
    const customers = ['cus_cli_race_a', 'cus_cli_race_b'];
    const results = await Promise.all(customers.map((customerId) => run(['customers', 'link-subject', customerId, '--issuer', ISSUER, '--subject', 'user-race'], stack.env)));
    const won = results.filter((r) => r.code === 0);
    const lost = results.filter((r) => r.code !== 0);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = customers[results.indexOf(won[0]!)]!;
    expect(lost[0]).toMatchObject({ code: 1, stdout: '' });
    expect(lost[0]!.stderr).toContain(`subject "user-race" of ${ISSUER} is already linked to ${winner}: link it to one customer only`);
    expect(await Promise.all(customers.map(storedSubject))).toEqual(customers.map((c) => (c === winner ? `${ISSUER}#user-race` : undefined)));
  });

  it('keeps one subject on one customer however many link it concurrently', async () => {
    const store = { client: stack.tables.client, customersTable: stack.tables.names.customers, eventsTable: stack.tables.names.events };
    const customers = Array.from({ length: 6 }, (_, i) => `cus_cli_crowd_${i}`);
    const settled = await Promise.allSettled(customers.map((customerId) => linkSubject(store, customerId, ISSUER, 'user-crowd')));
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
    for (const refused of settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected')) expect(refused.reason).toBeInstanceOf(SubjectLinkError);
    const carrying = (await Promise.all(customers.map(storedSubject))).filter((s) => s !== undefined);
    expect(carrying).toEqual([`${ISSUER}#user-crowd`]);
    // Unlinked, it is free for another customer; the one that held it no longer does.
    await unlinkSubject(store, ISSUER, 'user-crowd');
    await linkSubject(store, 'cus_cli_crowd_new', ISSUER, 'user-crowd');
    expect(await storedSubject('cus_cli_crowd_new')).toBe(`${ISSUER}#user-crowd`);
  });

  it('moves a customer from one subject to another, freeing the first', async () => {
    const store = { client: stack.tables.client, customersTable: stack.tables.names.customers, eventsTable: stack.tables.names.events };
    await linkSubject(store, 'cus_cli_mover_a', ISSUER, 'user-first');
    expect(await linkSubject(store, 'cus_cli_mover_a', ISSUER, 'user-second')).toEqual({ subjectKey: `${ISSUER}#user-second`, replaced: `${ISSUER}#user-first` });
    await linkSubject(store, 'cus_cli_mover_b', ISSUER, 'user-first');
    expect([await storedSubject('cus_cli_mover_a'), await storedSubject('cus_cli_mover_b')]).toEqual([`${ISSUER}#user-second`, `${ISSUER}#user-first`]);
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
