import { createToolCache } from '../activities/tools/tool-cache';

describe('tool definition cache', () => {
  test('lookups of ever-new names (misses) never grow it past its bound', async () => {
    const cache = createToolCache(async (name) => (name === 'known' ? { name } : null), 100);
    for (let i = 0; i < 1000; i++) expect(await cache.get(`made-up-${i}`)).toBeNull();
    expect(cache.size).toBeLessThanOrEqual(100);
    expect(await cache.get('known')).toEqual({ name: 'known' });
  });
});
