"use client";

import { useInfiniteQuery } from "@tanstack/react-query";
import { Loader2 } from "lucide-react";

import { ErrorState } from "@/components/app/states";
import { Button } from "@/components/ui/button";
import { api } from "@/lib/api/client";
import { formatInt } from "@/lib/format";

const PAGE = 48;

/** A dataset's images as thumbnails, a page at a time (by relative path). */
export function DatasetBrowser({ datasetId, total }: { datasetId: string; total: number }) {
  const items = useInfiniteQuery({
    queryKey: ["dataset-items", datasetId],
    queryFn: ({ pageParam }) => api.datasetItems(datasetId, pageParam, PAGE),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  if (items.isError) {
    return <ErrorState title="Could not load the images" error={items.error} />;
  }
  const shown = items.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="space-y-3" data-testid="dataset-browser">
      <ul className="grid grid-cols-3 gap-2 sm:grid-cols-6 lg:grid-cols-8">
        {shown.map((item) => (
          <li key={item.id} className="space-y-1">
            <a href={item.image_url} target="_blank" rel="noreferrer">
              <img
                src={item.thumbnail_url}
                alt={item.rel_path}
                loading="lazy"
                className="aspect-square w-full rounded-md border bg-muted object-cover"
              />
            </a>
            <p
              className="truncate font-mono text-[11px] text-muted-foreground"
              title={item.rel_path}
            >
              {item.rel_path}
            </p>
          </li>
        ))}
      </ul>
      <div className="flex items-center gap-3 text-xs text-muted-foreground">
        <span>
          {formatInt(shown.length)} of {formatInt(total)} shown
        </span>
        {items.hasNextPage ? (
          <Button
            variant="outline"
            size="sm"
            onClick={() => void items.fetchNextPage()}
            disabled={items.isFetchingNextPage}
          >
            {items.isFetchingNextPage ? <Loader2 className="animate-spin" aria-hidden /> : null}
            Load more
          </Button>
        ) : null}
        {items.isPending ? <Loader2 className="size-4 animate-spin" aria-label="Loading" /> : null}
      </div>
    </div>
  );
}
