import { createApiKeyService } from '../activities/auth/api-key-service';
import { holdRead } from './support/gates';
import { openTestStack, type TestStack } from './support/test-stack';

describe('API keys: a revocation racing a lookup', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await openTestStack();
  });
  afterAll(() => stack.close());

  test('a lookup that read the key before it was revoked does not cache it: the key is refused at once after the revoke answers', async () => {
    // The lookup's read answers, then waits until the revoke has committed and cleared the cache.
    const { prisma, at: atRead, open, arm } = holdRead(stack.prisma, 'apiKey', 'findUnique', { armed: false });
    const keys = createApiKeyService({ prisma });
    const { id, key } = await keys.createApiKey({ name: 'raced', principal: 'user:mallory' });

    arm();
    const lookup = keys.authenticate(key);
    await atRead;
    await keys.revokeApiKey(id);
    open();
    // The request that was already past the check may finish; every later one is refused.
    await lookup;
    await expect(keys.authenticate(key)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
