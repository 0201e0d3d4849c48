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
