/** Job seeds: the server accepts 0..2^31-1; empty means "pick one at random". */
export const MAX_SEED = 2 ** 31 - 1;

/** "" = random; otherwise a whole number in 0..2^31-1, or null when invalid. */
export function parseSeed(text: string): number | null | "random" {
  const t = text.trim();
  if (!t) return "random";
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n <= MAX_SEED ? n : null;
}

/** A fresh job seed, drawn in the browser so the preview and the job use the same one. */
export function randomSeed(): number {
  const word = new Uint32Array(1);
  crypto.getRandomValues(word);
  return (word[0] ?? 0) % (MAX_SEED + 1);
}
