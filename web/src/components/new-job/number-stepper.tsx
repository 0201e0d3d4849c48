"use client";

import { useState } from "react";
import { Minus, Plus } from "lucide-react";

import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";

/** A number input with − / + buttons, clamped to [min, max]. */
export function NumberStepper({
  id,
  value,
  onChange,
  min,
  max,
  label,
  describedBy,
}: {
  id: string;
  value: number;
  onChange: (value: number) => void;
  min: number;
  max: number;
  label: string;
  describedBy?: string;
}) {
  const clamp = (n: number) =>
    Math.max(min, Math.min(max, Number.isFinite(n) ? Math.round(n) : min));
  // While typing, keep the raw text so "" or "2" on the way to "25" is allowed.
  const [draft, setDraft] = useState<string | null>(null);
  const commit = () => {
    if (draft !== null) onChange(clamp(Number.parseInt(draft, 10)));
    setDraft(null);
  };
  return (
    <div className="flex w-36 items-center">
      <Button
        type="button"
        variant="outline"
        size="icon"
        className="rounded-r-none"
        aria-label={`Decrease ${label}`}
        disabled={value <= min}
        onClick={() => onChange(clamp(value - 1))}
      >
        <Minus aria-hidden />
      </Button>
      <Input
        id={id}
        type="number"
        inputMode="numeric"
        min={min}
        max={max}
        value={draft ?? String(value)}
        onChange={(e) => {
          setDraft(e.target.value);
          const n = Number.parseInt(e.target.value, 10);
          if (Number.isFinite(n) && n >= min && n <= max) onChange(n);
        }}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit();
        }}
        aria-describedby={describedBy}
        className="[appearance:textfield] rounded-none border-x-0 text-center tabular-nums [&::-webkit-inner-spin-button]:appearance-none [&::-webkit-outer-spin-button]:appearance-none"
      />
      <Button
        type="button"
        variant="outline"
        size="icon"
        className="rounded-l-none"
        aria-label={`Increase ${label}`}
        disabled={value >= max}
        onClick={() => onChange(clamp(value + 1))}
      >
        <Plus aria-hidden />
      </Button>
    </div>
  );
}
