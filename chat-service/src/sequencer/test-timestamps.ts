/** Write timestamps for unit tests: increasing, and any of generation g+1 above all of generation g (what LeaseClock guarantees in real time). */
export function testTimestamps(generation: number): () => bigint {
  let tick = 0n;
  return () => (BigInt(generation) << 32n) + tick++;
}
