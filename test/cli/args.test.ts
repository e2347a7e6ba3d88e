import { closest, editDistance, parseCommandArgs, parseDuration, parseExpiry, UsageError, type OptionSpecs } from '../../lib/cli/args';

describe('parseExpiry', () => {
  const now = new Date('2026-08-01T00:00:00Z');
  it.each([
    ['90d', '2026-10-30T00:00:00.000Z'],
    ['12h', '2026-08-01T12:00:00.000Z'],
    ['30m', '2026-08-01T00:30:00.000Z'],
    ['10s', '2026-08-01T00:00:10.000Z'],
    ['2027-01-31T00:00:00Z', '2027-01-31T00:00:00.000Z'],
  ])('reads %s as %s', (value, expected) => {
    expect(parseExpiry(value, now).toISOString()).toBe(expected);
  });

  it.each([
    ['tomorrow', '--expires "tomorrow" is neither an ISO-8601 time nor a duration: use e.g. 2027-01-31T00:00:00Z, or 30s, 15m, 12h or 90d'],
    ['90', '--expires "90" is invalid: add a unit, as in 90s or 90m'],
    ['3w', '--expires "3w" is invalid: give a whole number and a unit (s, m, h, d), such as 30s, 15m, 12h or 90d'],
  ])('refuses %s with a usage error that says what to write', (value, message) => {
    expect(() => parseExpiry(value, now)).toThrow(new UsageError(message));
  });
});

describe('parseDuration', () => {
  it.each([
    ['0s', 0],
    ['45s', 45],
    ['15m', 900],
    ['12h', 43_200],
    ['90d', 7_776_000],
  ])('reads %s as %i seconds', (value, seconds) => {
    expect(parseDuration(value, '--overlap')).toBe(seconds);
  });

  it.each([
    ['60', '--overlap "60" is invalid: add a unit, as in 60s or 60m'],
    ['-5s', '--overlap "-5s" is invalid: give a whole number and a unit (s, m, h, d), such as 30s, 15m, 12h or 90d'],
    ['1.5h', '--overlap "1.5h" is invalid: give a whole number and a unit (s, m, h, d), such as 30s, 15m, 12h or 90d'],
    ['', '--overlap "" is invalid: give a whole number and a unit (s, m, h, d), such as 30s, 15m, 12h or 90d'],
    ['99999999d', '--overlap "99999999d" is longer than 3650d: give a shorter duration'],
  ])('refuses %j', (value, message) => {
    expect(() => parseDuration(value, '--overlap')).toThrow(new UsageError(message));
  });
});

describe('closest', () => {
  const options = ['--customer', '--name', '--expires', '--json', '--outputs', '--region', '--profile', '--help'];
  it.each([
    ['--custmer', '--customer'],
    ['--cusotmer', '--customer'],
    ['--nmae', '--name'],
    ['--expire', '--expires'],
    ['--jsn', '--json'],
    ['--output', '--outputs'],
  ])('suggests %s → %s', (typo, expected) => {
    expect(closest(typo, options)).toBe(expected);
  });

  it.each([['--bogus'], ['--x'], ['--verbose']])('suggests nothing for %s, which resembles no option', (input) => {
    expect(closest(input, options)).toBeUndefined();
  });

  it('counts an adjacent transposition as one edit', () => {
    expect(editDistance('cusotmer', 'customer')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('parseCommandArgs', () => {
  const options: OptionSpecs = {
    customer: { type: 'string', value: '<cus_id>', help: '' },
    entitlement: { type: 'string', multiple: true, value: '<key>', help: '' },
    json: { type: 'boolean', help: '' },
    help: { type: 'boolean', short: 'h', help: '' },
  };

  it('reads values, repeated options and positionals', () => {
    expect(parseCommandArgs(['a', '--customer', 'cus_a', '--entitlement', 'x', '--entitlement=y', '--json', '--', '--b'], options)).toEqual({
      values: { customer: 'cus_a', entitlement: ['x', 'y'], json: true },
      positionals: ['a', '--b'],
    });
  });

  it('takes a negative number as an argument, for the command to refuse with its own message', () => {
    expect(parseCommandArgs(['cus_a', '-5', '-50', '-1.5', '--json'], options)).toMatchObject({ positionals: ['cus_a', '-5', '-50', '-1.5'], values: { json: true } });
  });

  it.each([
    [['--custmer', 'cus_a'], "unknown option '--custmer': did you mean --customer?"],
    [['--bogus'], "unknown option '--bogus'"],
    [['-x'], "unknown option '-x'"],
    [['--customer'], 'option --customer needs a value: --customer <cus_id>'],
    [['--customer', '--json'], 'option --customer needs a value: --customer <cus_id>'],
    [['--json=yes'], 'option --json takes no value: write --json alone'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseCommandArgs(argv, options)).toThrow(new UsageError(message));
  });
});
