// Imported first by run.ts: the AWS SDK warns once per process that releases after January 2027
// need Node 22; the project supports Node 20, so in benchmark output the warning is only noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
