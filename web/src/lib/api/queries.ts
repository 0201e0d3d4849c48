/** TanStack Query hooks over the API client: keys, polling, invalidation. */
"use client";

import { useEffect, useMemo, useRef } from "react";
import {
  type InfiniteData,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { toast } from "sonner";

import { api, type JobsQuery } from "./client";
import { OUTPUT_PAGE } from "./preload";
import { errorMessage } from "./errors";
import type { JobDetail, OutputPage, ReviewRequest } from "./types";
import { jobPollInterval, pollInterval } from "@/lib/jobs";
import { mergeChanges } from "@/lib/output-changes";
import { type ReviewDecision, withReview } from "@/lib/review";

export const keys = {
  health: ["health"] as const,
  session: ["session"] as const,
  models: ["models"] as const,
  jobs: (filter: string) => ["jobs", filter] as const,
  job: (id: string) => ["job", id] as const,
  outputs: (id: string) => ["outputs", id] as const,
  dataset: (id: string) => ["dataset", id] as const,
};

export function useHealth() {
  return useQuery({
    queryKey: keys.health,
    queryFn: ({ signal }) => api.health(signal),
    refetchInterval: 30_000,
  });
}

export function useSession() {
  return useQuery({ queryKey: keys.session, queryFn: api.session, staleTime: 60_000 });
}

export function useModels() {
  return useQuery({ queryKey: keys.models, queryFn: api.models, staleTime: 5 * 60_000 });
}

export function useJobs(filter: Omit<JobsQuery, "limit" | "offset"> = {}) {
  return useQuery({
    queryKey: keys.jobs(JSON.stringify(filter)),
    queryFn: () => api.jobs({ ...filter, limit: 200 }),
    refetchInterval: (q) =>
      q.state.data?.items.some((j) => pollInterval(j.status) !== false) ? 2_000 : 10_000,
  });
}

export function useJob(id: string | null) {
  return useQuery({
    queryKey: keys.job(id ?? ""),
    queryFn: () => api.job(id!),
    enabled: Boolean(id),
    refetchInterval: (q) => jobPollInterval(q.state.data),
  });
}

/** How often a running job's gallery asks for the outputs changed since its last poll. */
const CHANGES_POLL_MS = 3_000;

/**
 * Every output of a job, page by page (500 each) so a 5,000-output job shows
 * its first images at once while the rest stream in. While the job runs, the
 * gallery then asks every 3 s only for the outputs changed since its last poll
 * (`since`, answered 304 when nothing changed) and folds them into its pages;
 * all pages are read again once when the job's status changes, so the final
 * state always shows.
 */
export function useJobOutputs(jobId: string | null, job: JobDetail | undefined) {
  const qc = useQueryClient();
  const id = jobId ?? "";
  const running = job?.status === "queued" || job?.status === "running";
  const since = useRef<string | null>(null);
  /** Bumped whenever the pages are read from the start: older change answers are dropped. */
  const generation = useRef(0);
  const query = useInfiniteQuery({
    queryKey: keys.outputs(id),
    queryFn: async ({ pageParam, signal }) => {
      if (pageParam === null) generation.current += 1;
      const page = await api.outputs(
        id,
        { cursor: pageParam ?? undefined, limit: OUTPUT_PAGE },
        signal,
      );
      if (pageParam === null) since.current = page.changes_cursor ?? null;
      return page;
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    enabled: Boolean(id),
  });
  const { hasNextPage, isFetchingNextPage, isFetching, fetchNextPage, refetch } = query;
  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && !isFetching) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, isFetching, fetchNextPage]);

  // Changes are asked for only once every page is in: a page still to come is read
  // after the change, so it is fresher than any change answer.
  const loaded = Boolean(query.data) && !hasNextPage && !isFetching;
  useEffect(() => {
    if (!running || !loaded || !id) return;
    let busy = false;
    const poll = async () => {
      if (busy || since.current === null) return;
      busy = true;
      const started = generation.current;
      try {
        for (let more = true; more && since.current !== null;) {
          const page = await api.outputs(id, { since: since.current, limit: OUTPUT_PAGE });
          if (generation.current !== started) return;
          qc.setQueryData<InfiniteData<OutputPage>>(keys.outputs(id), (data) =>
            mergeChanges(data, page.items),
          );
          since.current = page.changes_cursor ?? null;
          more = page.more_changes ?? false;
        }
      } catch {
        // The next poll tries again; a lasting problem shows on the job's own query.
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void poll(), CHANGES_POLL_MS);
    return () => clearInterval(timer);
  }, [running, loaded, id, qc]);

  // The pages are read again when the status changes, not when it first arrives (the
  // pages are asked for alongside the job, so they are already fresh then).
  const status = job?.status;
  const seen = useRef(status);
  useEffect(() => {
    if (status === undefined) return;
    const before = seen.current;
    seen.current = status;
    if (before !== undefined && before !== status) void refetch();
  }, [status, refetch]);

  const items = useMemo(() => query.data?.pages.flatMap((p) => p.items) ?? [], [query.data]);
  return {
    items,
    isPending: query.isPending,
    isError: query.isError,
    error: query.error,
    refetch,
    /** More pages are still on their way. */
    loadingMore: Boolean(hasNextPage),
  };
}

export type JobOutputs = ReturnType<typeof useJobOutputs>;

type JobAction = "pause" | "resume" | "cancel" | "retry" | "continue";

const ACTION_DONE: Record<JobAction, string> = {
  pause: "Job paused",
  resume: "Job resumed",
  cancel: "Job cancelled",
  retry: "Failed outputs queued again",
  continue: "The rest of the job is queued",
};

/** Pause / resume / cancel / retry-failed with a toast and fresh data after. */
export function useJobAction() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async ({
      id,
      action,
      outputIds,
    }: {
      id: string;
      action: JobAction;
      outputIds?: string[];
    }) => {
      switch (action) {
        case "pause":
          return { job: await api.pause(id), requeued: null, note: null };
        case "resume":
          return { job: await api.resume(id), requeued: null, note: null };
        case "cancel":
          return { job: await api.cancel(id), requeued: null, note: null };
        case "continue":
          return { job: await api.continueTrial(id), requeued: null, note: null };
        case "retry": {
          const out = await api.retryFailed(id, outputIds);
          return { job: out.job, requeued: out.requeued, note: out.message };
        }
      }
    },
    onSuccess: (result, { action }) => {
      qc.setQueryData(keys.job(result.job.id), result.job);
      void qc.invalidateQueries({ queryKey: ["jobs"] });
      void qc.invalidateQueries({ queryKey: keys.outputs(result.job.id) });
      if (action === "retry") {
        toast.success(
          result.requeued
            ? `${result.requeued} output${result.requeued === 1 ? "" : "s"} queued again`
            : "Nothing to retry",
        );
        // The server names the failures a retry cannot fix (invalid request, block...).
        if (result.note) toast.warning("Some will fail again", { description: result.note });
      } else {
        toast.success(ACTION_DONE[action], { description: result.job.name || undefined });
      }
    },
    onError: (err) => toast.error("That did not work", { description: errorMessage(err) }),
  });
}

export function useSetBudget() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, maxCost }: { id: string; maxCost: number | null }) =>
      api.setBudget(id, maxCost),
    onSuccess: (job) => {
      qc.setQueryData(keys.job(job.id), job);
      void qc.invalidateQueries({ queryKey: ["jobs"] });
    },
    onError: (err) =>
      toast.error("Could not change the budget", { description: errorMessage(err) }),
  });
}

export function useSetPriority() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: ({ id, priority }: { id: string; priority: number }) =>
      api.setPriority(id, priority),
    onSuccess: (job) => {
      qc.setQueryData(keys.job(job.id), job);
      void qc.invalidateQueries({ queryKey: ["jobs"] });
    },
    onError: (err) =>
      toast.error("Could not change the priority", { description: errorMessage(err) }),
  });
}

/**
 * Accept / reject / clear outputs. The gallery updates at once (the cached pages
 * are rewritten); the job's counts come back from the server.
 */
export function useReview(jobId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: ReviewRequest) => api.review(jobId, body),
    onMutate: async (body) => {
      if (!body.output_ids) return;
      await qc.cancelQueries({ queryKey: keys.outputs(jobId) });
      const ids = new Set(body.output_ids);
      qc.setQueryData<InfiniteData<OutputPage>>(keys.outputs(jobId), (data) =>
        data
          ? {
              ...data,
              pages: data.pages.map((p) => ({
                ...p,
                items: withReview(p.items, ids, body.decision as ReviewDecision),
              })),
            }
          : data,
      );
    },
    onError: (err) => {
      toast.error("The review was not saved", { description: errorMessage(err) });
      void qc.invalidateQueries({ queryKey: keys.outputs(jobId) });
    },
    onSettled: (_data, _err, body) => {
      void qc.invalidateQueries({ queryKey: keys.job(jobId) });
      if (!body.output_ids) void qc.invalidateQueries({ queryKey: keys.outputs(jobId) });
    },
  });
}

/** Generate the rejected outputs again, for the count the user saw priced. */
export function useRegenerateRejected(jobId: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (expected: number) => api.regenerateRejected(jobId, expected),
    onSuccess: (result) => {
      qc.setQueryData(keys.job(jobId), result.job);
      void qc.invalidateQueries({ queryKey: ["jobs"] });
      void qc.invalidateQueries({ queryKey: keys.outputs(jobId) });
      toast.success(
        `${result.requeued} rejected output${result.requeued === 1 ? "" : "s"} queued again`,
      );
    },
    onError: (err) => toast.error("Nothing was queued", { description: errorMessage(err) }),
  });
}
