// Replaced by the authorizer issue: rejects every request until then.
export const handler = (): Promise<never> => Promise.reject(new Error('Unauthorized'));
