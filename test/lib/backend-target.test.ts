import { backendTarget } from '../../lib/openapi/build';

describe('backendTarget', () => {
  it('sends the API to tollgate:backendUrl when it is set, whatever sample backend exists', () => {
    expect(backendTarget({ backendUrl: 'https://api.example.com' }, { sampleBackend: 'arn:sample' })).toEqual({ type: 'http', baseUrl: 'https://api.example.com' });
    expect(backendTarget({ backendUrl: 'https://api.example.com' }, {})).toEqual({ type: 'http', baseUrl: 'https://api.example.com' });
  });

  it('sends it to the sample backend function otherwise', () => {
    expect(backendTarget({}, { sampleBackend: 'arn:sample' })).toEqual({ type: 'lambda', invocationUri: 'arn:sample' });
  });

  it('refuses to build a document with neither', () => {
    expect(() => backendTarget({}, {})).toThrow(/set tollgate:backendUrl/);
  });
});
