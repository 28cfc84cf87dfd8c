import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../cli/main';

const root = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

// What README tells people to type and open must exist: its `npx ownpilot` lines are commands
// and flags the CLI knows, and the repository files it names are there.
describe('README', () => {
  const lines = readme.split('\n').filter((l) => l.startsWith('npx ownpilot '));

  test.each(lines)('%s', async (line) => {
    const words = line.replace(/#.*$/, '').trim().split(/\s+/).slice(2);
    const [group, actions, ...rest] = words;
    // `<runId>` stands for any value; quoted values are one word.
    const args = rest.join(' ').match(/'[^']*'|\S+/g)?.map((w) => w.replace(/^'|'$/g, '').replace(/^<.*>$/, 'x')) ?? [];
    // A command may be a group alone (`status`).
    for (const action of (actions ?? '').split('|')) {
      let stderr = '';
      const spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
        stderr += String(chunk);
        return true;
      });
      try {
        // fetch refuses port 9: a known command with known flags gets as far as calling the API.
        const code = await runCli([group!, ...(action ? [action] : []), ...args], { OWNPILOT_URL: 'http://127.0.0.1:9', OWNPILOT_API_KEY: 'k', OWNPILOT_CONFIG: '/nonexistent' }, () => undefined, false);
        expect({ action, code, stderr }).toEqual({ action, code: 1, stderr: expect.stringMatching(/^ownpilot: cannot (reach the API|read [\w-]+\.json: ENOENT)/) });
      } finally {
        spy.mockRestore();
      }
    }
  });

  test('files it names exist', () => {
    const named = new Set<string>();
    for (const doc of ['README.md', 'RELIABILITY.md']) {
      const text = fs.readFileSync(path.join(root, doc), 'utf8');
      for (const m of text.matchAll(/(?<![\w/.<-])((?:examples|scripts|bench|test|workflows|activities|api|platform|prisma|cli|workers|temporal-docker|bin)\/[\w./-]*\.(?:ts|json|md|ya?ml|sql|cjs|binpb|sh))\b/g)) named.add(m[1]!);
    }
    expect(named.size).toBeGreaterThan(20);
    expect([...named].filter((file) => !fs.existsSync(path.join(root, file)))).toEqual([]);
  });
});
