import fs from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux everywhere that matters). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (ms) used so far by this process ('node', every thread) and by each kind of process
 * it started, by command name (e.g. 'temporal', 'postgres'), read from /proc. Only this process
 * off Linux. A descendant that exited takes its time with it: pools keep connections open.
 */
export function cpuByProcess(): Record<string, number> {
  const { user, system } = process.cpuUsage();
  const totals: Record<string, number> = { node: (user + system) / 1000 };
  if (!fs.existsSync('/proc/self/stat')) return totals;
  const stats = new Map<number, { ppid: number; comm: string; ms: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let line: string;
    try {
      line = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while listed
    }
    // "pid (comm) state ppid ..." – comm may hold spaces and parentheses, so split after the last ')'.
    const close = line.lastIndexOf(')');
    const fields = line.slice(close + 2).split(' ');
    stats.set(Number(entry), { ppid: Number(fields[1]), comm: line.slice(line.indexOf('(') + 1, close), ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND });
  }
  const isDescendant = (pid: number): boolean => {
    for (let p = stats.get(pid)?.ppid; p !== undefined && p > 1; p = stats.get(p)?.ppid) if (p === process.pid) return true;
    return false;
  };
  for (const [pid, s] of stats) if (isDescendant(pid)) totals[s.comm] = (totals[s.comm] ?? 0) + s.ms;
  return totals;
}

/** What each kind of process spent between two `cpuByProcess` readings. */
export function cpuSpent(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([name, ms]) => [name, ms - (before[name] ?? 0)]));
}
