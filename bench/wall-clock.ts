/** Wall-clock milliseconds comparable between processes on one machine (sub-millisecond). */
export const wallNow = (): number => performance.timeOrigin + performance.now();
