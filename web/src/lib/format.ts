/** Display formatting shared by every page: money, counts, runs, ages, durations. */

const usd = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const usdFine = new Intl.NumberFormat("en-US", {
  style: "currency",
  currency: "USD",
  minimumFractionDigits: 3,
  maximumFractionDigits: 4,
});
const integer = new Intl.NumberFormat("en-US");

/** A dollar amount: cents for totals, "<$0.01" for dust, never "-$0.00". */
export function formatUsd(amount: number): string {
  if (!Number.isFinite(amount) || Math.abs(amount) < 1e-9) return "$0.00";
  if (amount > 0 && amount < 0.005) return "<$0.01";
  return usd.format(amount);
}

/** A per-image price keeps its fractions of a cent: $0.039, $0.0195. */
export function formatUnitPrice(amount: number): string {
  if (!Number.isFinite(amount) || amount <= 0) return "Free";
  return usdFine.format(amount);
}

export function formatInt(n: number): string {
  return integer.format(n);
}

/** "1 image", "5,000 images"; `plural` defaults to singular + "s". */
export function plural(n: number, singular: string, pluralForm?: string): string {
  return `${formatInt(n)} ${n === 1 ? singular : (pluralForm ?? `${singular}s`)}`;
}

/**
 * How a semi-automatic count splits into runs: 40 -> "10 runs of 4",
 * 42 -> "11 runs (10 of 4, 1 of 2)", 3 -> "1 run of 3".
 */
export function formatRuns(count: number, runSize = 4): string {
  if (count <= 0 || runSize <= 0) return "no runs";
  const full = Math.floor(count / runSize);
  const rest = count % runSize;
  if (rest === 0) return `${plural(full, "run")} of ${runSize}`;
  if (full === 0) return `1 run of ${rest}`;
  return `${plural(full + 1, "run")} (${formatInt(full)} of ${runSize}, 1 of ${rest})`;
}

export function runCount(count: number, runSize = 4): number {
  return count <= 0 || runSize <= 0 ? 0 : Math.ceil(count / runSize);
}

export interface EstimateLike {
  outputs: number;
  tasks: number;
  batches: number;
  price_per_image: number;
  cost_usd: number;
  provider: string;
}

export interface EstimateDisplay {
  outputs: string;
  tasks: string;
  batches: string;
  cost: string;
  unitPrice: string;
  /** A sentence for screen readers and the submit button's description. */
  summary: string;
}

/** Turn the server's estimate into the strings the estimate panel shows. */
export function formatEstimate(e: EstimateLike): EstimateDisplay {
  const free = e.cost_usd <= 0 && e.price_per_image <= 0;
  const cost = free ? "Free" : formatUsd(e.cost_usd);
  const unitPrice = free
    ? e.provider === "classic"
      ? "Free (offline augmentation)"
      : "Free"
    : `${formatUnitPrice(e.price_per_image)} / image`;
  const outputs = plural(e.outputs, "image");
  const tasks = plural(e.tasks, "task");
  const batches = plural(e.batches, "batch", "batches");
  return {
    outputs,
    tasks,
    batches,
    cost,
    unitPrice,
    summary: `${outputs} in ${tasks} across ${batches}, estimated cost ${cost}.`,
  };
}

/** Parse an API timestamp; naive ISO strings from the server are UTC. */
export function parseApiDate(value: string | null | undefined): Date | null {
  if (!value) return null;
  const hasZone = /([zZ]|[+-]\d\d:?\d\d)$/.test(value);
  const d = new Date(hasZone ? value : `${value}Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "just now", "4 min ago", "3 h ago", "yesterday", "12 days ago", then a date. */
export function formatAge(value: string | Date | null | undefined, now: Date = new Date()): string {
  const d = value instanceof Date ? value : parseApiDate(value);
  if (!d) return "—";
  const seconds = Math.max(0, Math.round((now.getTime() - d.getTime()) / 1000));
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days === 1) return "yesterday";
  if (days < 30) return `${days} days ago`;
  return d.toLocaleDateString("en-US", { year: "numeric", month: "short", day: "numeric" });
}

/** "850 ms", "12.3 s", "2 min 5 s", "1 h 4 min". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const totalSeconds = Math.round(s);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) return `${minutes} min ${totalSeconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatPercent(fraction: number): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  return `${Math.floor(clamped * 100)}%`;
}
