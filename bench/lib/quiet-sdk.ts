// Imported first by run.ts: the AWS SDK warns once per process that releases after January 2027
// need Node 22; the project supports Node 20, so in benchmark output the warning is only noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The handlers of a figure that runs them in process: no EMF metrics, no log lines (they would time the console). */
export function quietHandlers(): void {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
}
