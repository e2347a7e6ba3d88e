import { writeFileSync } from 'node:fs';
import { loadFigure } from './figures';
import { FIGURE_IDS, type FigureContext, type FigureId, type FigureResult, type Mode } from './lib/types';

/**
 * Runs one figure in a process of its own (started by run.ts): no JIT state, heap or sockets carry
 * over from another figure, and the functions' Powertools log lines go to this process's stdout,
 * which run.ts discards as Lambda's log pipe would take them.
 *
 *   node --import tsx --expose-gc bench/worker.ts <figure> <mode> <dynamodb endpoint> <work dir> <root> <result file>
 */
async function main(argv: readonly string[]): Promise<void> {
  const [id, mode, endpoint, workDir, root, resultFile] = argv;
  if (!FIGURE_IDS.includes(id as FigureId) || resultFile === undefined) {
    throw new Error('usage: worker.ts <B1…B7> <full|quick|smoke> <dynamodb endpoint> <work dir> <root> <result file>: run it through bench/run.ts');
  }
  const figure = await loadFigure(id as FigureId);
  const context: FigureContext = { mode: mode as Mode, dynamodbEndpoint: endpoint!, workDir: workDir!, root: root! };
  const started = process.hrtime.bigint();
  const outcome = await figure.run(context);
  const result: FigureResult = { id: figure.id, title: figure.title, ...outcome, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  writeFileSync(resultFile, JSON.stringify(result, null, 2));
}

main(process.argv.slice(2)).then(
  // Open keep-alive sockets or servers must not keep a finished figure alive.
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
