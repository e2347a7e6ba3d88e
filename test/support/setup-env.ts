// The AWS SDK warns once per process that releases after January 2027 need Node 22; the project
// supports Node 20 and the Lambda runtime is Node 22, so the warning is only noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
