/**
 * The review pass in the gallery: which keys accept or reject, which outputs a
 * quality filter keeps, and the optimistic update of a review decision.
 */
import type { OutputOut } from "@/lib/api/types";

export type ReviewDecision = "accepted" | "rejected" | "unreviewed";
export type Flag = "near_identical" | "near_duplicate" | "wrong_size" | "label_unsafe";

export const FLAGS: { value: Flag; label: string; short: string }[] = [
  { value: "label_unsafe", label: "Layout moved", short: "Layout" },
  { value: "near_identical", label: "Near-identical to source", short: "Same" },
  { value: "near_duplicate", label: "Near-duplicate", short: "Dup" },
  { value: "wrong_size", label: "Wrong size", short: "Size" },
];

/** The gallery's quality filter: everything, any flag, one flag, or a review state. */
export type QualityFilter = "all" | "flagged" | Flag | ReviewDecision;

/** `a` accepts, `r` (or `x`) rejects, `u` (or `0`) clears; anything else is not ours. */
export function reviewKey(key: string): ReviewDecision | null {
  switch (key.toLowerCase()) {
    case "a":
      return "accepted";
    case "r":
    case "x":
      return "rejected";
    case "u":
    case "0":
      return "unreviewed";
    default:
      return null;
  }
}

/** Only outputs with an image can be reviewed. */
export function reviewable(output: Pick<OutputOut, "status" | "image_url">): boolean {
  return output.status === "succeeded" && Boolean(output.image_url);
}

export function matchesQuality(
  output: Pick<OutputOut, "flags" | "review" | "status" | "image_url">,
  filter: QualityFilter,
): boolean {
  if (filter === "all") return true;
  const flags = output.flags ?? [];
  if (filter === "flagged") return flags.length > 0;
  if (filter === "accepted" || filter === "rejected" || filter === "unreviewed") {
    return reviewable(output) && (output.review ?? "unreviewed") === filter;
  }
  return flags.some((f) => f.flag === filter);
}

/** `items` with `ids` marked `decision` (outputs without an image stay as they are). */
export function withReview<T extends Pick<OutputOut, "id" | "review" | "status" | "image_url">>(
  items: T[],
  ids: ReadonlySet<string>,
  decision: ReviewDecision,
): T[] {
  return items.map((o) => (ids.has(o.id) && reviewable(o) ? { ...o, review: decision } : o));
}
