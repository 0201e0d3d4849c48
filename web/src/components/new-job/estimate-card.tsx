"use client";

import { AlertTriangle, Calculator, Loader2 } from "lucide-react";

import { Alert, AlertDescription } from "@/components/ui/alert";
import {
  Card,
  CardContent,
  CardDescription,
  CardFooter,
  CardHeader,
  CardTitle,
} from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { errorMessage } from "@/lib/api/errors";
import type { Estimate } from "@/lib/api/types";
import { formatEstimate } from "@/lib/format";

function Line({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="flex items-baseline justify-between gap-3 py-1 text-sm">
      <dt className="text-muted-foreground">{label}</dt>
      <dd className="font-medium tabular-nums" data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}

/**
 * The estimate from POST /jobs/estimate (outputs, tasks, cost) beside the
 * submit button, so nobody starts a job without seeing what it costs.
 */
export function EstimateCard({
  estimate,
  loading,
  error,
  waitingFor,
  extra,
  children,
}: {
  estimate: Estimate | undefined;
  loading: boolean;
  error: unknown;
  /** Why there is no estimate yet ("Upload a dataset first"). */
  waitingFor: string | null;
  extra?: React.ReactNode;
  children: React.ReactNode;
}) {
  const display = estimate ? formatEstimate(estimate) : null;
  return (
    <Card className="gap-4" aria-labelledby="estimate-title">
      <CardHeader>
        <CardTitle id="estimate-title" className="flex items-center gap-2">
          <Calculator className="size-4 text-muted-foreground" aria-hidden /> Estimate
          {loading && estimate ? (
            <Loader2
              className="size-3.5 animate-spin text-muted-foreground"
              aria-label="Updating"
            />
          ) : null}
        </CardTitle>
        <CardDescription>Worked out by the server from your settings.</CardDescription>
      </CardHeader>
      <CardContent className="space-y-3">
        {waitingFor ? (
          <p className="rounded-md bg-muted/60 px-3 py-4 text-center text-sm text-muted-foreground">
            {waitingFor}
          </p>
        ) : error && !estimate ? (
          <Alert variant="destructive">
            <AlertTriangle aria-hidden />
            <AlertDescription>{errorMessage(error)}</AlertDescription>
          </Alert>
        ) : display && estimate ? (
          <>
            <div className="rounded-lg bg-muted/50 px-4 py-3">
              <p className="text-xs text-muted-foreground">Estimated cost</p>
              <p
                className="text-3xl font-semibold tracking-tight tabular-nums"
                data-testid="estimate-cost"
              >
                {display.cost}
              </p>
              <p className="text-xs text-muted-foreground">{display.unitPrice}</p>
            </div>
            <dl aria-label={display.summary}>
              <Line label="Images" value={display.outputs} testId="estimate-outputs" />
              <Line label="Tasks" value={display.tasks} testId="estimate-tasks" />
              <Line label="Batches" value={display.batches} />
            </dl>
            {extra}
            {error ? (
              <Alert variant="destructive">
                <AlertTriangle aria-hidden />
                <AlertDescription>{errorMessage(error)}</AlertDescription>
              </Alert>
            ) : null}
            {estimate.warnings.length ? (
              <Alert variant="warning">
                <AlertTriangle aria-hidden />
                <AlertDescription>
                  <ul className="list-disc space-y-1 pl-4">
                    {estimate.warnings.map((w) => (
                      <li key={w}>{w}</li>
                    ))}
                  </ul>
                </AlertDescription>
              </Alert>
            ) : null}
          </>
        ) : (
          <div className="space-y-2">
            <Skeleton className="h-20" />
            <Skeleton className="h-16" />
          </div>
        )}
      </CardContent>
      <CardFooter className="flex-col items-stretch gap-2">{children}</CardFooter>
    </Card>
  );
}
