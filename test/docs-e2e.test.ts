import fs from 'node:fs';
import { serve, type Served } from './support/serve';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { createTestKey, testKeyService } from './support/api-auth';
import { openTestStack, type TestStack } from './support/test-stack';
import { stackApp } from './support/tool-test-app';

const CHROMIUM = '/usr/bin/chromium'; // Debian's package (.ci/run installs it when missing)

// The interactive reference in a real headless Chromium: the page loads from this server alone
// (no CDN: other hosts are blocked), takes an API key through "Authorize" and calls the API.
describe('/docs in headless Chromium', () => {
  let stack: TestStack;
  let served: Served | undefined;
  let base: string;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    stack = await openTestStack();
    const app = stackApp(stack);
    served = await serve(app);
    base = served.url;
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ownpilot-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await context?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
    await served?.close();
    await stack.close();
  });

  test('authorize with an API key, run GET /api/v1/acl/tables from the page, see 200 and the data', async () => {
    const key = await createTestKey(testKeyService(stack.prisma), 'admin');
    const page = await context.newPage();
    const foreign: string[] = [];
    await page.route('**/*', (route) => {
      if (route.request().url().startsWith(base)) return route.continue();
      foreign.push(route.request().url());
      return route.abort();
    });
    await page.goto(`${base}/docs`);
    await page.getByRole('button', { name: /authorize/i }).first().click();
    const dialog = page.locator('.modal-ux');
    const apiKeyForm = dialog.locator('.auth-container').filter({ has: page.locator('h4 code', { hasText: /^apiKey$/ }) });
    await apiKeyForm.locator('input').first().fill(key);
    await apiKeyForm.getByRole('button', { name: 'Apply credentials' }).click();
    await apiKeyForm.locator('button', { hasText: 'Logout' }).waitFor(); // the key is now applied
    await dialog.locator('.close-modal').click();

    const operation = page.locator('#operations-database-getApiV1AclTables');
    await operation.locator('.opblock-summary').first().click();
    const tryIt = operation.getByRole('button', { name: /try it out/i });
    if (await tryIt.count()) await tryIt.click();
    await operation.getByRole('button', { name: /execute/i }).click();
    const status = operation.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor();
    expect((await status.textContent())?.trim()).toBe('200');
    const body = await operation.locator('.live-responses-table .response-col_description pre').first().textContent();
    expect(JSON.parse(body ?? '{}').tables.map((t: { name: string }) => t.name)).toContain('plans');
    expect(foreign).toEqual([]);
  });
});
