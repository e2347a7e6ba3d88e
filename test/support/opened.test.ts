import { setTimeout as sleep } from 'node:timers/promises';
import { openedResources } from './opened';

describe('openedResources', () => {
  it('closes what opened while a sibling failed, once it has opened, latest first', async () => {
    const opened = openedResources();
    const closed: string[] = [];
    opened.defer(() => closed.push('folder'));
    const slow = opened.open(
      sleep(20).then(() => 'issuer'),
      (name) => closed.push(name),
    );
    await expect(Promise.all([opened.open(Promise.reject(new Error('tables failed')), () => closed.push('never')), slow])).rejects.toThrow('tables failed');
    // afterAll runs now, before the slow sibling has opened.
    await opened.closeAll();
    expect(closed).toEqual(['issuer', 'folder']);
  });

  it('runs every close and throws the first failure after', async () => {
    const opened = openedResources();
    const closed: string[] = [];
    await opened.open('a', (name) => closed.push(name));
    await opened.open('b', () => {
      throw new Error('b would not close');
    });
    await opened.open('c', (name) => closed.push(name));
    await expect(opened.closeAll()).rejects.toThrow('b would not close');
    expect(closed).toEqual(['c', 'a']);
  });
});
