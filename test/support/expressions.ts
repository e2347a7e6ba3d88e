/**
 * DynamoDB requests as IAM's fine-grained conditions see them: the top-level attributes an expression
 * names (`dynamodb:Attributes`), for tests that send a function's real writes through the scope the
 * stack grants it.
 */

const KEYWORDS = new Set(['SET', 'ADD', 'REMOVE', 'DELETE', 'AND', 'OR', 'NOT', 'BETWEEN', 'IN', 'attribute_exists', 'attribute_not_exists', 'attribute_type', 'begins_with', 'contains', 'size', 'if_not_exists', 'list_append']);

/** The top-level attribute names an expression names (a path's first element), `#names` resolved. */
export function attributesOf(expression: string | undefined, names: Record<string, string> = {}): string[] {
  if (expression === undefined) return [];
  const tokens = expression.replace(/:[A-Za-z0-9_]+/g, ' ').match(/#?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_#]+|\[\d+\])*/g) ?? [];
  return tokens
    .map((token) => token.split(/[.[]/)[0]!)
    .filter((first) => !KEYWORDS.has(first))
    .map((first) => (first.startsWith('#') ? (names[first] ?? first) : first));
}

/** One write of a request, as IAM authorizes it (a transaction item counts as its own action). */
export interface Write {
  readonly action: string;
  readonly TableName: string;
  readonly Key?: Record<string, unknown>;
  readonly Item?: Record<string, unknown>;
  readonly UpdateExpression?: string;
  readonly ConditionExpression?: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
}

/** The writes and reads a request makes, each with its IAM action (`PutItem`, `UpdateItem`, …). */
export function operationsOf(commandName: string, input: Record<string, unknown>): Write[] {
  const transact = input.TransactItems as Array<Record<string, Omit<Write, 'action'>>> | undefined;
  if (transact !== undefined) return transact.flatMap((item) => Object.entries(item).map(([kind, op]) => ({ ...op, action: `${kind}Item` })));
  return [{ ...(input as unknown as Omit<Write, 'action'>), action: commandName.replace(/Command$/, '') }];
}

/** Every attribute a write names: its key and item, and those of its update and condition expressions. */
export const namedAttributes = (write: Write): string[] => [
  ...Object.keys(write.Key ?? {}),
  ...Object.keys(write.Item ?? {}),
  ...attributesOf(write.UpdateExpression, write.ExpressionAttributeNames),
  ...attributesOf(write.ConditionExpression, write.ExpressionAttributeNames),
];

/** IAM's StringLike: `*` matches any run of characters. */
export const likeAny = (value: string, patterns: readonly string[]): boolean =>
  patterns.some((pattern) => new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(value));
