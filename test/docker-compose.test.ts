import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ALL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const root = path.join(__dirname, '..');

interface ComposeService {
  image?: string;
  volumes?: string[];
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

  test('prometheus scrapes the API and every worker replica with the alert rules mounted', () => {
    const prometheus = compose.services.prometheus!;
    expect(prometheus.image).toMatch(/^prom\/prometheus:v\d/);
    const mounts = Object.fromEntries((prometheus.volumes ?? []).filter((v) => v.startsWith('./')).map((v) => [v.split(':')[1], v.split(':')[0]!]));
    for (const target of ['/etc/prometheus/prometheus.yml', '/etc/prometheus/alerts.yml']) {
      expect(fs.existsSync(path.join(root, 'temporal-docker', mounts[target]!))).toBe(true);
    }
    const config = parse(fs.readFileSync(path.join(root, 'temporal-docker', 'prometheus', 'prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs?: { targets: string[] }[]; dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    expect(config.rule_files).toContain('/etc/prometheus/alerts.yml');
    const jobs = Object.fromEntries(config.scrape_configs.map((j) => [j.job_name, j]));
    expect(jobs['ownpilot-api']?.static_configs?.[0]?.targets).toEqual(['api:3000']);
    expect(jobs['ownpilot-worker']?.dns_sd_configs?.[0]).toMatchObject({ names: ['worker'], port: Number(compose.services.worker?.environment?.WORKER_METRICS_PORT) });
    expect(compose.services.worker?.environment?.WORKER_METRICS_HOST).toBe('0.0.0.0');
  });

  test('alert rules cover the seed\'s alerts and are well-formed (test/processes.test.ts checks their metrics are exported)', () => {
    const rules = parse(fs.readFileSync(path.join(root, 'temporal-docker', 'prometheus', 'alerts.yml'), 'utf8')) as {
      groups: { name: string; rules: { alert: string; expr: string; labels?: { severity?: string }; annotations?: { summary?: string } }[] }[];
    };
    const all = rules.groups.flatMap((g) => g.rules);
    expect(all.map((r) => r.alert)).toEqual(expect.arrayContaining(['OwnPilotPluginCrashing', 'OwnPilotAccessViolations', 'OwnPilotEventBusOverload', 'OwnPilotToolExecutionFailures']));
    for (const rule of all) {
      expect(rule.expr.trim().length).toBeGreaterThan(0);
      expect(rule.labels?.severity).toMatch(/^(warning|critical)$/);
      expect(rule.annotations?.summary).toBeTruthy();
      let depth = 0;
      for (const c of rule.expr) depth += c === '(' ? 1 : c === ')' ? -1 : 0;
      expect([rule.alert, depth]).toEqual([rule.alert, 0]);
    }
  });
});
