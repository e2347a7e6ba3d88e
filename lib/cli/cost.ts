import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { STACK_NAME } from '../contract';
import { describeCost, estimateCost, TemplateError } from '../report/cost';
import { stringValue } from './args';
import { CliError, type CommandGroup, type CommandSpec } from './command';

/**
 * `tollgate cost`: the monthly AWS cost of the stack `cdk synth` wrote, idle and per million calls
 * (lib/report/cost.ts), with its assumptions. Offline: it reads the template, nothing else.
 */

/** cdk.out's template of this project's stack, else the one template there that holds a tollgate authorizer. */
function defaultTemplate(root: string): string {
  const out = path.join(root, 'cdk.out');
  const own = path.join(out, `${STACK_NAME}.template.json`);
  if (existsSync(own)) return own;
  const candidates = existsSync(out)
    ? readdirSync(out)
        .filter((f) => f.endsWith('.template.json'))
        .map((f) => path.join(out, f))
        .filter((f) => readFileSync(f, 'utf8').includes('tollgate-authorizer'))
    : [];
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length > 1) throw new CliError(`cdk.out holds ${candidates.length} tollgate stacks: choose one with --template <file>`);
  throw new CliError('no synthesized template in cdk.out: run npx cdk synth first, or give --template <file>');
}

const cost: CommandSpec = {
  name: '',
  summary: "the stack's monthly AWS cost: idle, and per million calls of subscription and metered routes",
  synopsis: '[--template <file>]',
  description: [
    'Estimates the monthly AWS cost of the stack from its synthesized template (cdk.out, written by npx cdk synth):',
    'what it costs idle, and what each million calls adds on a route that needs a subscription and on a route sold',
    'by use. Prices are us-east-1 list prices, with the date they were read; every assumption is printed.',
  ].join('\n'),
  arguments: [],
  options: { template: { type: 'string', value: '<file>', help: 'a synthesized template (default: the tollgate stack in cdk.out)' } },
  run: (ctx) => {
    const file = stringValue(ctx.values, 'template') ?? defaultTemplate(ctx.io.root);
    let template: unknown;
    try {
      template = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new CliError(`cannot read the template "${file}" (${(err as NodeJS.ErrnoException).code ?? 'invalid JSON'}): write it with npx cdk synth`);
    }
    try {
      const estimate = estimateCost(template);
      ctx.print(describeCost(estimate), estimate);
    } catch (err) {
      if (err instanceof TemplateError) throw new CliError(err.message);
      throw err;
    }
    return Promise.resolve();
  },
};

export const COST: CommandGroup = { name: 'cost', summary: 'what the stack costs on AWS', commands: [cost] };
