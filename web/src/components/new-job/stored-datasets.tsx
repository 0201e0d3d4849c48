"use client";

import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { Database } from "lucide-react";

import { Button } from "@/components/ui/button";
import { api } from "@/lib/api/client";
import { formatAge, formatBytes, plural } from "@/lib/format";

const SHOWN = 6;

/** The datasets already stored, to run on one instead of uploading it again. */
export function StoredDatasets({ onPick }: { onPick: (id: string) => void }) {
  const datasets = useQuery({ queryKey: ["datasets"], queryFn: api.datasets });
  const usable = (datasets.data?.items ?? []).filter((d) => d.item_count > 0);
  if (usable.length === 0) return null;
  return (
    <section className="space-y-2" aria-labelledby="stored-datasets-title">
      <h3 id="stored-datasets-title" className="flex items-center gap-1.5 text-sm font-medium">
        <Database className="size-4 text-muted-foreground" aria-hidden />
        Or use a dataset you already uploaded
      </h3>
      <ul className="divide-y rounded-lg border">
        {usable.slice(0, SHOWN).map((d) => (
          <li key={d.id} className="flex items-center justify-between gap-3 px-3 py-2">
            <div className="min-w-0">
              <p className="truncate text-sm font-medium">{d.name || d.id.slice(0, 8)}</p>
              <p className="text-xs text-muted-foreground">
                {plural(d.item_count, "image")}
                {d.classes.length
                  ? ` · ${plural(d.classes.length, "class", "classes")}`
                  : ""} · {formatBytes(d.size_bytes)} · {formatAge(d.created_at)}
              </p>
            </div>
            <Button
              variant="outline"
              size="sm"
              onClick={() => onPick(d.id)}
              aria-label={`Use dataset ${d.name || d.id.slice(0, 8)}`}
            >
              Use
            </Button>
          </li>
        ))}
      </ul>
      {usable.length > SHOWN ? (
        <p className="text-xs text-muted-foreground">
          {plural(usable.length - SHOWN, "more dataset")} on the{" "}
          <Link className="underline" href="/datasets/">
            Datasets
          </Link>{" "}
          page.
        </p>
      ) : null}
    </section>
  );
}
