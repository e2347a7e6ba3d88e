import { LocalGatewayError, type LocalFunction } from './types';

/** Invokes a local function as Lambda does: a JSON copy of the event in, a JSON copy of the result out. */
export type Invoke = (functionName: string, event: unknown, requestId: string) => Promise<unknown>;

export function createInvoker(functions: Readonly<Record<string, LocalFunction>>, region: string, accountId: string): Invoke {
  return async (functionName, event, requestId) => {
    const fn = functions[functionName];
    if (fn === undefined) throw new LocalGatewayError(`no local function "${functionName}"`);
    const context = {
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
      memoryLimitInMB: '256',
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => 3000,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    // Lambda serialises events and results as JSON: handlers never share objects with the gateway.
    const result: unknown = await (fn as (e: unknown, c: unknown) => unknown)(JSON.parse(JSON.stringify(event)), context);
    return result === undefined ? undefined : (JSON.parse(JSON.stringify(result)) as unknown);
  };
}
