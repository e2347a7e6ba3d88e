import { stateDirectory } from '../local/coordinates';
import { didYouMean, parseCommandArgs, stringValue, UsageError } from './args';
import { COMMON_OPTIONS, commandHelp, commandSynopsis, groupHelp, groupSynopsis, rootHelp, rootSynopsis, type CliIo, type CommandGroup, type Context } from './command';
import { CUSTOMERS } from './customers';
import { EVENTS } from './events';
import { describeFailure, oneLine } from './failures';
import { KEYS } from './keys';
import { CREDITS } from './credits';
import { METERING } from './metering';
import { REPORT } from './report';
import { USAGE } from './usage';
import { resolveTarget, type Target } from './target';
import { TOKENS } from './tokens';
import { STRIPE } from './stripe';
import { COST } from './cost';
import { BUDGET } from './budget';

/**
 * `npx tollgate <group> <command> [arguments] [options]`: manage API keys, inspect customers and send
 * signed Stripe events, against the running local stack (default) or a deployed one (`--outputs`).
 * Exit codes: 0 success, 1 failure, 2 usage error. Every error is one line on stderr (with a usage
 * line after a usage error); `--json` prints one JSON document, and errors as `{"error": …}`.
 */

export type { CliIo } from './command';
export { CliError } from './command';

export const GROUPS: readonly CommandGroup[] = [KEYS, CUSTOMERS, EVENTS, USAGE, CREDITS, BUDGET, METERING, TOKENS, REPORT, STRIPE, COST];

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const args = [...argv];
  const json = args.includes('--json');
  const report = (message: string, usage?: string): number => {
    const line = oneLine(message);
    if (json) io.stderr(`${JSON.stringify({ error: line })}\n`);
    else io.stderr(`tollgate: ${line}\n${usage === undefined ? '' : `${usage}\n`}`);
    return usage === undefined ? 1 : 2;
  };
  const wantsHelp = (rest: readonly string[]): boolean => rest.includes('--help') || rest.includes('-h');
  const show = (help: string): number => {
    io.stdout(`${help}\n`);
    return 0;
  };

  // Commands come first: tollgate <group> <command> [arguments] [options].
  const [groupName, commandName] = args;
  if (groupName === undefined || groupName.startsWith('-')) return wantsHelp(args) ? show(rootHelp(GROUPS)) : report('missing a command', rootSynopsis(GROUPS));
  const group = GROUPS.find((g) => g.name === groupName);
  if (group === undefined) {
    return report(`unknown command "${groupName}"${didYouMean(groupName, GROUPS.map((g) => g.name))}`, rootSynopsis(GROUPS));
  }
  // A group of one unnamed command is a command itself (tollgate report).
  const single = group.commands.length === 1 && group.commands[0]!.name === '';
  if (!single && (commandName === undefined || commandName.startsWith('-'))) {
    return wantsHelp(args) ? show(groupHelp(group)) : report(`missing a ${group.name} command`, groupSynopsis(group));
  }
  const command = single ? group.commands[0] : group.commands.find((c) => c.name === commandName);
  if (command === undefined) {
    const names = group.commands.map((c) => c.name);
    return report(`unknown ${group.name} command "${commandName}"${didYouMean(commandName ?? '', names)}`, groupSynopsis(group));
  }
  const rest = args.slice(single ? 1 : 2);
  if (wantsHelp(rest)) return show(commandHelp(group, command));

  let target: Target | undefined;
  let profile = io.env.AWS_PROFILE === '' ? undefined : io.env.AWS_PROFILE;
  try {
    const { values, positionals } = parseCommandArgs(rest, { ...command.options, ...COMMON_OPTIONS });
    profile = stringValue(values, 'profile') ?? profile;
    const missing = command.arguments[positionals.length];
    if (missing !== undefined) throw new UsageError(missing.missing);
    const extra = positionals[command.arguments.length];
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    const optional = (name: string, as: string): Record<string, string> => {
      const value = stringValue(values, name);
      return value === undefined ? {} : { [as]: value };
    };
    const ctx: Context = {
      io,
      values,
      positionals,
      now: (io.now ?? (() => new Date()))(),
      target: () =>
        (target ??= resolveTarget({
          stateDir: stateDirectory(io.root, io.env),
          env: io.env,
          ...optional('outputs', 'outputs'),
          ...optional('region', 'region'),
          ...optional('profile', 'profile'),
          ...optional('secret-id', 'secretId'),
        })),
      print: (human, data) => io.stdout(`${json ? JSON.stringify(data, null, 2) : human}\n`),
    };
    await command.run(ctx);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) return report(err.message, commandSynopsis(group, command));
    return report(describeFailure(err, { ...(target === undefined ? {} : { target: target.kind }), ...(profile === undefined ? {} : { profile }) }));
  } finally {
    target?.close();
  }
}
