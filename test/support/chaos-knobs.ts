/** A positive integer from the environment variable `name` (a longer chaos run by hand), else `fallback`. */
export function chaosKnob(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got '${raw}'`);
  return value;
}

/** A pseudo-random generator (mulberry32) of floats in [0, 1) from `seed`: the same seed, the same sequence. */
export function randomFrom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seeded pseudo-random generator (randomFrom). The seed comes from CHAOS_SEED when set, else
 * from the clock; it is printed so a failing run can be replayed.
 */
export function seededRandom(label: string): { seed: number; next: () => number } {
  const seed = process.env.CHAOS_SEED ? chaosKnob('CHAOS_SEED', 0) : Date.now() % 2 ** 31;
  console.log(`[chaos] ${label}: seed ${seed} (replay with CHAOS_SEED=${seed})`);
  return { seed, next: randomFrom(seed) };
}
