import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..');

// A merge resolved in one file but not another once left its markers in README; the suite passed.
test('no tracked file holds merge conflict markers', () => {
  const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' }).split('\n').filter((f) => /\.(ts|md|json|sql|ya?ml|cjs|mjs|sh)$/.test(f));
  expect(files.length).toBeGreaterThan(100);
  const marked = files.filter((f) => fs.existsSync(path.join(root, f)) && /^(<{7} |={7}$|>{7} )/m.test(fs.readFileSync(path.join(root, f), 'utf8')));
  expect(marked).toEqual([]);
});
