import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { CUSTOMER_ATTRIBUTES } from '../../../lambda/shared/customers/item';

/**
 * The customers table has one owner: outside lambda/shared/customers/, no DynamoDB expression names a
 * declared attribute of the customer item in a string literal. Inside it, expressions take the names from
 * the attribute table through attr()/fieldOf(), so the compiler finds them. (bench/ is left out: its
 * floors send raw commands on purpose.)
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
const OWNER = path.join('lambda', 'shared', 'customers') + path.sep;
const DECLARED = Object.keys(CUSTOMER_ATTRIBUTES);
/** An attribute's name as a word, not a value placeholder named after it (`:credits`). */
const NAMED = new RegExp(`(?<![:#\\w])(${DECLARED.join('|')})\\b`);
/** A DynamoDB expression, or a piece of one: an action keyword, a function, or a placeholder. */
const EXPRESSION = /(^|\s)(SET|REMOVE|ADD|DELETE)\s|\b(attribute_exists|attribute_not_exists|attribute_type|if_not_exists|begins_with|contains|size)\(|[:#][A-Za-z]\w*/;

const sourceFiles = (dir: string): string[] =>
  readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(relative);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [relative] : [];
  });

/** Each string literal that names a declared attribute in an expression, as `line: text`. */
function attributeLiterals(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const report = (node: ts.Node, literal: string): void => {
    found.push(`${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}: ${literal}`);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      if (EXPRESSION.test(node.text) && NAMED.test(node.text)) report(node, node.text);
    }
    // Placeholder names: `ExpressionAttributeNames: { '#s': 'subscriptions' }`.
    if (ts.isPropertyAssignment(node) && node.name.getText(source) === 'ExpressionAttributeNames' && ts.isObjectLiteralExpression(node.initializer)) {
      for (const property of node.initializer.properties) {
        if (ts.isPropertyAssignment(property) && ts.isStringLiteralLike(property.initializer) && DECLARED.includes(property.initializer.text)) {
          report(property, property.initializer.text);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('customer attribute names in DynamoDB expressions', () => {
  it('finds none outside lambda/shared/customers/', () => {
    const files = ['lambda', 'lib', 'bin'].flatMap(sourceFiles).filter((file) => !file.startsWith(OWNER));
    expect(files.length).toBeGreaterThan(100);
    const found = files.flatMap((file) => attributeLiterals(file, readFileSync(path.join(ROOT, file), 'utf8')).map((hit) => `${file}:${hit}`));
    expect(found).toEqual([]);
  });

  it('finds none inside it either: expressions there name attributes through attr() and fieldOf()', () => {
    const files = sourceFiles(OWNER.slice(0, -1));
    const found = files.flatMap((file) => attributeLiterals(file, readFileSync(path.join(ROOT, file), 'utf8')).map((hit) => `${file}:${hit}`));
    expect(found).toEqual([]);
  });

  it.each([
    ['an update expression', "send({ UpdateExpression: 'ADD credits :minus' });", ['1: ADD credits :minus']],
    ['a condition in a template', 'const c = `attribute_not_exists(usagePeriodEnd) OR usagePeriodEnd < ${x}`;', ['1: attribute_not_exists(usagePeriodEnd) OR usagePeriodEnd < ']],
    ['a condition piece pushed on a list', "conditions.push('(attribute_not_exists(periodUsed) OR periodUsed = :usedBefore)');", ['1: (attribute_not_exists(periodUsed) OR periodUsed = :usedBefore)']],
    ['a placeholder name', "send({ ExpressionAttributeNames: { '#s': 'subscriptions', '#o': 'outcome' } });", ['1: subscriptions']],
    ['a name through attr()', "const c = `ADD ${attr('credits')} :minus`;", []],
    ['another table\'s attributes', "send({ UpdateExpression: 'SET #o = :outcome, expiresAt = :expires REMOVE rawBody' });", []],
    ['a message that mentions an attribute', "throw new Error(`customer ${id}: attribute credits is not a number: fix it`);", []],
  ])('flags %s correctly', (_, text, expected) => {
    expect(attributeLiterals('example.ts', text)).toEqual(expected);
  });
});
