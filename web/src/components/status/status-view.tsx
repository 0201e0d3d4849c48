"use client";

import {
  CheckCircle2,
  Cpu,
  Database,
  HardDrive,
  KeyRound,
  Lock,
  RotateCw,
  XCircle,
} from "lucide-react";
import type { LucideIcon } from "lucide-react";

import { ModelLabel, modelDisplayName } from "@/components/app/model-label";
import { PageHeader } from "@/components/app/page-header";
import { ErrorState, LoadingRows } from "@/components/app/states";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableRow,
} from "@/components/ui/table";
import { useHealth, useModels } from "@/lib/api/queries";
import type { Health, ModelInfo } from "@/lib/api/types";
import { formatBytes } from "@/lib/format";
import { lifecycleText, priceRange, STATUS_LABEL } from "@/lib/models";

function Ok({ ok, yes = "OK", no = "Problem" }: { ok: boolean; yes?: string; no?: string }) {
  return ok ? (
    <Badge variant="success">
      <CheckCircle2 aria-hidden /> {yes}
    </Badge>
  ) : (
    <Badge variant="destructive">
      <XCircle aria-hidden /> {no}
    </Badge>
  );
}

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="flex items-start justify-between gap-4 py-1.5 text-sm">
      <dt className="text-muted-foreground">{label}</dt>
      <dd className="text-right font-medium break-all">{children}</dd>
    </div>
  );
}

function Panel({
  icon: Icon,
  title,
  status,
  description,
  children,
}: {
  icon: LucideIcon;
  title: string;
  status: React.ReactNode;
  description?: string;
  children: React.ReactNode;
}) {
  return (
    <Card>
      <CardHeader>
        <CardTitle className="flex items-center gap-2">
          <Icon className="size-4 text-muted-foreground" aria-hidden /> {title}
        </CardTitle>
        {description ? <CardDescription>{description}</CardDescription> : null}
        <div
          data-slot="card-action"
          className="col-start-2 row-span-2 row-start-1 self-start justify-self-end"
        >
          {status}
        </div>
      </CardHeader>
      <CardContent>
        <dl className="divide-y">{children}</dl>
      </CardContent>
    </Card>
  );
}

const DETAIL_LABELS: Record<string, string> = {
  kind: "Backend",
  max: "Tasks at once (max)",
  limiter: "Rate limiter",
  free_bytes: "Free space",
  endpoint_id: "RunPod endpoint",
  bucket: "Bucket",
  root: "Directory",
};

/** Detail rows worth showing: not the ones the panel already states. */
function detailRows(details: Record<string, unknown>, skip: string[]): [string, unknown][] {
  return Object.entries(details).filter(([k]) => !skip.includes(k));
}

function detailLabel(key: string): string {
  return DETAIL_LABELS[key] ?? key.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
}

function describeValue(key: string, value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number" && key.endsWith("bytes")) return formatBytes(value);
  if (typeof value === "object") {
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k.replace(/_/g, " ")} ${describeValue(k, v)}`)
      .join(" · ");
  }
  return String(value);
}

type KeyHealth = Health["provider"]["gemini_key"];

/** What Google said about the key (checked with one cached models.list call). */
function KeyState({ keyHealth }: { keyHealth: KeyHealth }) {
  switch (keyHealth.state) {
    case "ok":
      return <Ok ok yes="Accepted by Google" />;
    case "key_invalid":
      return <Ok ok={false} no="Refused by Google" />;
    case "unreachable":
      return <Badge variant="warning">Could not check</Badge>;
    case "skipped":
      return <Badge variant="outline">Check off</Badge>;
    default:
      return <Badge variant="outline">Not set</Badge>;
  }
}

function StatusBadge({ model }: { model: ModelInfo }) {
  const variant =
    model.status === "current" ? "success" : model.status === "deprecated" ? "warning" : "outline";
  return (
    <Badge variant={variant} title={model.lifecycle_note || undefined}>
      {STATUS_LABEL[model.status]}
    </Badge>
  );
}

export function StatusView() {
  const health = useHealth();
  const models = useModels();
  const h = health.data;
  return (
    <div>
      <PageHeader
        title="Status"
        description="What this server uses to generate images, and whether each part answers."
        actions={
          <Button
            variant="outline"
            onClick={() => void health.refetch()}
            disabled={health.isFetching}
          >
            <RotateCw className={health.isFetching ? "animate-spin" : undefined} aria-hidden />{" "}
            Refresh
          </Button>
        }
      />
      {health.isPending ? (
        <LoadingRows rows={4} />
      ) : health.isError ? (
        <ErrorState
          title="Could not read the server status"
          error={health.error}
          onRetry={() => void health.refetch()}
        />
      ) : h ? (
        <div className="space-y-6">
          <div className="grid gap-4 md:grid-cols-2">
            <Panel
              icon={KeyRound}
              title="Image provider"
              status={
                <Badge variant={h.provider.name === "gemini" ? "banana" : "secondary"}>
                  {h.provider.name === "gemini" ? "Gemini" : "Classic"}
                </Badge>
              }
              description={
                h.provider.name === "classic"
                  ? "Offline classical augmentation (geometric, photometric and weather effects): free, no key, no network, not AI. Set GEMINI_API_KEY and restart to use Nano Banana."
                  : "Google Gemini image models (Nano Banana) through the official SDK."
              }
            >
              <Row label="Provider in use">
                {h.provider.name === "gemini"
                  ? "Gemini (Nano Banana)"
                  : "Classic augmentation (offline)"}
              </Row>
              <Row label="Gemini API key">
                {h.provider.gemini_key_configured ? (
                  <KeyState keyHealth={h.provider.gemini_key} />
                ) : (
                  <Badge variant="outline">Not set</Badge>
                )}
              </Row>
              {h.provider.gemini_key.message && h.provider.gemini_key.state !== "not_configured" ? (
                <Row label="Google said">
                  <span className="font-normal" data-testid="gemini-key-message">
                    {h.provider.gemini_key.message}
                  </span>
                </Row>
              ) : null}
              {h.provider.gemini_key.state === "ok" ? (
                <Row label="Models this key can use">
                  <span className="break-normal" data-testid="gemini-key-models">
                    {h.provider.gemini_key.models.length
                      ? h.provider.gemini_key.models
                          .map((id) => modelDisplayName(id, models.data))
                          .join(", ")
                      : "none of the catalog's image models"}
                  </span>
                </Row>
              ) : null}
              <Row label="Default model">
                <ModelLabel model={h.provider.default_model} models={models.data} />
              </Row>
            </Panel>
            <Panel
              icon={Cpu}
              title="Executor"
              status={<Ok ok={h.executor.ok} yes="Healthy" no="Unhealthy" />}
              description={
                h.executor.name === "runpod"
                  ? "Tasks run on RunPod Serverless workers."
                  : "Tasks run in a worker pool inside this server process."
              }
            >
              <Row label="Executor">
                {h.executor.name === "runpod" ? "RunPod Serverless" : "Local (in-process)"}
              </Row>
              <Row label="Scheduler">{h.executor.orchestrator_running ? "Running" : "Stopped"}</Row>
              <Row label="Tasks in flight">{h.executor.in_flight}</Row>
              {detailRows(h.executor.details ?? {}, ["kind", "ok", "in_flight"]).map(([k, v]) => (
                <Row key={k} label={detailLabel(k)}>
                  {describeValue(k, v)}
                </Row>
              ))}
            </Panel>
            <Panel
              icon={HardDrive}
              title="Storage"
              status={<Ok ok={Boolean((h.storage as { ok?: boolean }).ok ?? h.ok)} />}
            >
              {detailRows(h.storage, ["ok"]).map(([k, v]) => (
                <Row key={k} label={detailLabel(k)}>
                  {describeValue(k, v)}
                </Row>
              ))}
            </Panel>
            <Panel icon={Database} title="Database and server" status={<Ok ok={h.db.ok} />}>
              <Row label="Database">{h.db.dialect}</Row>
              {h.db.error ? <Row label="Error">{h.db.error}</Row> : null}
              <Row label="Version">{h.version}</Row>
              <Row label="Sign-in">
                <span className="inline-flex items-center gap-1">
                  <Lock className="size-3.5" aria-hidden />
                  {h.auth_required ? "Password required" : "Open (no password set)"}
                </span>
              </Row>
            </Panel>
          </div>
          <Card className="gap-0 py-0">
            <CardHeader className="border-b py-4">
              <CardTitle>Models</CardTitle>
              <CardDescription>
                Lifecycle, limits and list prices per image (standard and Batch API). Deprecated
                models are accepted with a warning; shut-down models are refused.
              </CardDescription>
            </CardHeader>
            {models.isPending ? (
              <LoadingRows rows={3} className="p-4" />
            ) : models.isError ? (
              <ErrorState
                className="m-4"
                title="Could not load models"
                error={models.error}
                onRetry={() => void models.refetch()}
              />
            ) : (
              <Table aria-label="Models">
                <TableHeader>
                  <TableRow className="hover:bg-transparent">
                    <TableHead>Model</TableHead>
                    <TableHead>Status</TableHead>
                    <TableHead>Reference images</TableHead>
                    <TableHead>Sizes</TableHead>
                    <TableHead>Price / image</TableHead>
                    <TableHead>Available</TableHead>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {models.data.map((m) => (
                    <TableRow key={m.id} data-testid={`model-row-${m.id}`}>
                      <TableCell>
                        <ModelLabel
                          model={m.id}
                          provider={m.provider}
                          models={models.data}
                          className="font-medium"
                        />
                        <div className="text-xs text-muted-foreground">{m.id}</div>
                      </TableCell>
                      <TableCell className="max-w-60 whitespace-normal">
                        <StatusBadge model={m} />
                        <div className="text-xs text-muted-foreground">
                          {lifecycleText(m) ?? (m.released ? `since ${m.released}` : "")}
                        </div>
                      </TableCell>
                      <TableCell>up to {m.max_reference_images}</TableCell>
                      <TableCell>{m.image_sizes.length ? m.image_sizes.join(", ") : "—"}</TableCell>
                      <TableCell>
                        {priceRange(m.price_per_image)}
                        {m.provider === "gemini" ? (
                          <div className="text-xs text-muted-foreground">
                            Batch API {priceRange(m.batch_price_per_image)}
                          </div>
                        ) : null}
                      </TableCell>
                      <TableCell>
                        {m.status === "shut_down" ? (
                          <Badge variant="outline">No</Badge>
                        ) : m.available ? (
                          <Badge variant="success">Yes{m.default ? " · default" : ""}</Badge>
                        ) : (
                          <Badge variant="outline" title="Set GEMINI_API_KEY to use Gemini models">
                            Needs API key
                          </Badge>
                        )}
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            )}
          </Card>
        </div>
      ) : null}
    </div>
  );
}
