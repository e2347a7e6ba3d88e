/**
 * Captures what the process writes to stdout and stderr (Powertools' logger and EMF metrics write
 * there, as they do in Lambda), line by line, while `run` runs.
 */
export async function capturedOutput<T>(run: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const chunks: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }),
  );
  try {
    const result = await run();
    return { result, lines: chunks.join('').split('\n').filter((line) => line !== '') };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

/** The JSON objects among captured lines (log lines and EMF documents). */
export const jsonLines = (lines: readonly string[]): Array<Record<string, unknown>> =>
  lines.flatMap((line) => {
    try {
      const value = JSON.parse(line) as Record<string, unknown> | null;
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? [value] : [];
    } catch {
      return [];
    }
  });
