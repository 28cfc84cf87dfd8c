import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const root = path.join(__dirname, '..');

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[] | string;
  environment?: Record<string, string>;
}

// No Docker engine here: the compose file is proven well-formed and pointing at real files.
describe('temporal-docker/docker-compose.yml', () => {
  const compose = parse(fs.readFileSync(path.join(root, 'temporal-docker', 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, ComposeService>;
  };

  test('has Temporal on PostgreSQL, the Web UI, the app database, migrations, API and workers', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['temporal-db', 'temporal', 'temporal-search-attributes', 'temporal-ui', 'app-db', 'migrate', 'api', 'worker']),
    );
    expect(compose.services.temporal?.image).toMatch(/^temporalio\/auto-setup:/);
    expect(compose.services['temporal-ui']?.image).toMatch(/^temporalio\/ui:/);
  });

  test('app services build from the repository Dockerfile and run entry points that exist', () => {
    for (const name of ['migrate', 'api', 'worker']) {
      const service = compose.services[name]!;
      const dockerfile = path.resolve(root, 'temporal-docker', service.build!.context, service.build!.dockerfile);
      expect(fs.existsSync(dockerfile)).toBe(true);
      const entry = (service.command as string[]).at(-1)!;
      expect(fs.existsSync(path.join(root, entry))).toBe(true);
      expect(service.environment?.DATABASE_URL).toMatch(/^postgresql:\/\/.+@app-db:5432\//);
      expect(service.environment?.TEMPORAL_ADDRESS).toBe('temporal:7233');
    }
  });

  test('registers every search attribute the workflows use', () => {
    const script = String(compose.services['temporal-search-attributes']?.command);
    for (const key of ALL_SEARCH_ATTRIBUTES) expect(script).toContain(key.name);
  });
});
