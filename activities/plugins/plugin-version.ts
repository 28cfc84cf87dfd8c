// Semantic-version order for the manifest's `version` (`1.2.3`, `1.2.3-rc.1` or `1.2.3+build`).

const parts = (version: string) => {
  const [, core = '', sep, tail = ''] = /^([^-+]*)([-+]?)(.*)$/.exec(version) ?? [];
  return { core: core.split('.').map(Number), pre: sep === '-' ? tail.split('.') : [] };
};

/** A prerelease identifier's order (semver §11): numeric ones by value and before alphanumeric ones. */
const compareIdentifier = (a: string, b: string): number => {
  const [na, nb] = [/^\d+$/.test(a), /^\d+$/.test(b)];
  if (na && nb) return Number(a) - Number(b);
  if (na !== nb) return na ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
};

/**
 * Negative, zero or positive as `a` is older than, the same as or newer than `b` (semver order).
 * A prerelease is older than its release; build metadata (`+...`) does not count, so
 * `1.0.0+a` and `1.0.0+b` are the same version.
 */
export function compareVersions(a: string, b: string): number {
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) {
    const d = (pa.core[i] ?? 0) - (pb.core[i] ?? 0);
    if (d !== 0) return d;
  }
  if (pa.pre.length === 0 || pb.pre.length === 0) return pb.pre.length - pa.pre.length;
  for (let i = 0; i < Math.min(pa.pre.length, pb.pre.length); i++) {
    const d = compareIdentifier(pa.pre[i]!, pb.pre[i]!);
    if (d !== 0) return d;
  }
  return pa.pre.length - pb.pre.length;
}
