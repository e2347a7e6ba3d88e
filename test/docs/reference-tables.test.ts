import { GROUPS } from '../../lib/cli/index';
import { STACK_OUTPUTS } from '../../lib/contract';
import { PAYMENT_REASONS } from '../../lambda/shared/problems';
import { codeSpan, readPage, section, tableRows } from './markdown';

/** The reference tables that repeat what the code declares are held to it: none missing, none extra. */

describe('docs/cli.md', () => {
  const rows = tableRows(section(readPage('docs/cli.md'), '## Commands'));

  it('lists every command of npx tollgate --help, in its order, with its synopsis', () => {
    const expected = GROUPS.flatMap((group) => group.commands.map((command) => [group.name, command.name, command.synopsis].filter((part) => part !== '').join(' ')));
    expect(rows.map(([command]) => codeSpan(command!))).toEqual(expected);
  });

  it("starts each command's description with its spec's summary", () => {
    const summaries = GROUPS.flatMap((group) => group.commands.map((command) => command.summary));
    rows.forEach(([command, description], i) => expect({ command, description: description!.slice(0, summaries[i]!.length) }).toEqual({ command, description: summaries[i] }));
  });
});

describe('docs/402-contract.md', () => {
  it('says what the client should do for every 402 reason, in the order of PAYMENT_REASONS, and no other', () => {
    const rows = tableRows(section(readPage('docs/402-contract.md'), '## What each answer means'));
    expect(rows.filter(([status]) => status === '402').map(([, reason]) => codeSpan(reason!))).toEqual([...PAYMENT_REASONS]);
  });
});

describe('README', () => {
  it('names every output of the stack in its deploy steps', () => {
    const deploying = section(readPage('README.md'), '## Deploying');
    const named = new Set([...deploying.matchAll(/`([A-Z][A-Za-z]+)`/g)].map((m) => m[1]!).filter((name) => /(Url|Name|Id)$/.test(name)));
    expect([...named].sort()).toEqual(Object.values(STACK_OUTPUTS).sort());
  });
});
