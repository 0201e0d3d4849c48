"use client";

import { useState } from "react";

import { parseMaxCost } from "@/components/new-job/advanced-options";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { useSetBudget } from "@/lib/api/queries";
import type { JobDetail } from "@/lib/api/types";

/** The orchestrator held the job at a budget cap: say why and let the user raise it. */
export function BudgetHold({ job }: { job: JobDetail }) {
  const setBudget = useSetBudget();
  const [cap, setCap] = useState(() =>
    String(Math.ceil(Math.max(job.cost_estimate, job.max_cost ?? 0) * 1.1 * 100) / 100),
  );
  const parsed = parseMaxCost(cap);
  return (
    <div
      role="status"
      data-testid="budget-hold"
      className="flex flex-wrap items-end gap-3 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm dark:bg-amber-950/30"
    >
      <p className="min-w-0 flex-1">{job.hold_reason}</p>
      <div className="flex items-end gap-2">
        <div className="space-y-1">
          <Label htmlFor="raise-cap">New cap (USD)</Label>
          <Input
            id="raise-cap"
            className="w-28"
            inputMode="decimal"
            value={cap}
            onChange={(e) => setCap(e.target.value)}
            aria-invalid={parsed === undefined || undefined}
          />
        </div>
        <Button
          onClick={() => setBudget.mutate({ id: job.id, maxCost: parsed ?? null })}
          disabled={parsed === undefined || setBudget.isPending}
        >
          Raise cap and continue
        </Button>
      </div>
    </div>
  );
}
