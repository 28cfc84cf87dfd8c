import { createApiKeyService } from '../activities/auth/api-key-service';
import { openTestStack, type TestStack } from './support/test-stack';

describe('API keys: a revocation racing a lookup', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await openTestStack();
  });
  afterAll(() => stack.close());

  test('a lookup that read the key before it was revoked does not cache it: the key is refused at once after the revoke answers', async () => {
    // The lookup's read answers, then waits until the revoke has committed and cleared the cache.
    let reached!: () => void;
    const atRead = new Promise<void>((resolve) => (reached = resolve));
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    let hold = false;
    const apiKey = new Proxy(stack.prisma.apiKey, {
      get(target, prop) {
        if (prop !== 'findUnique') return Reflect.get(target, prop) as unknown;
        return async (args: Parameters<typeof target.findUnique>[0]) => {
          const row = await target.findUnique(args);
          if (hold) {
            hold = false;
            reached();
            await opened;
          }
          return row;
        };
      },
    });
    const prisma = new Proxy(stack.prisma, { get: (target, prop) => (prop === 'apiKey' ? apiKey : (Reflect.get(target, prop) as unknown)) });
    const keys = createApiKeyService({ prisma });
    const { id, key } = await keys.createApiKey({ name: 'raced', principal: 'user:mallory' });

    hold = true;
    const lookup = keys.authenticate(key);
    await atRead;
    await keys.revokeApiKey(id);
    open();
    // The request that was already past the check may finish; every later one is refused.
    await lookup;
    await expect(keys.authenticate(key)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
