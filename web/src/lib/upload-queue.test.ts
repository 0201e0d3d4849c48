import { describe, expect, it } from "vitest";

import { UploadError, UploadQueue, type ChunkUploader, type UploadItem } from "./upload-queue";

function items(n: number, size = 100, prefix = "cls"): UploadItem[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `f${i}`,
    relPath: `${prefix}${i % 2}/${String(i).padStart(4, "0")}.png`,
    size,
    file: new Blob([new Uint8Array(size)]),
  }));
}

const noSleep = async (): Promise<void> => {};

/** Let pending promise callbacks run. */
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe("UploadQueue", () => {
  it("never has more than `concurrency` requests in flight and sends every file once", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const sent: string[] = [];
    const uploader: ChunkUploader = async (chunk) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      sent.push(...chunk.map((c) => c.id));
      inFlight -= 1;
      return { errors: [] };
    };
    const q = new UploadQueue({ uploader, concurrency: 4, maxFilesPerChunk: 20 });
    q.add(items(1000));
    await q.whenIdle();
    expect(maxInFlight).toBe(4);
    expect(sent).toHaveLength(1000);
    expect(new Set(sent).size).toBe(1000);
    const t = q.totals();
    expect(t.done).toBe(1000);
    expect(t.settled).toBe(true);
    expect(t.fraction).toBe(1);
  });

  it("packs requests by file count and by bytes", async () => {
    const sizes: number[] = [];
    const uploader: ChunkUploader = async (chunk) => {
      sizes.push(chunk.length);
      return { errors: [] };
    };
    const q = new UploadQueue({
      uploader,
      concurrency: 1,
      maxFilesPerChunk: 20,
      maxBytesPerChunk: 1000,
    });
    q.add(items(45, 100));
    await q.whenIdle();
    // 1000 bytes per request at 100 bytes a file: 10 files, even though 20 are allowed.
    expect(sizes).toEqual([10, 10, 10, 10, 5]);

    const big: number[] = [];
    const q2 = new UploadQueue({
      uploader: async (chunk) => {
        big.push(chunk.length);
        return { errors: [] };
      },
      concurrency: 1,
      maxBytesPerChunk: 50,
    });
    q2.add(items(3, 100)); // each file alone exceeds the budget: one per request
    await q2.whenIdle();
    expect(big).toEqual([1, 1, 1]);
  });

  it("retries transient failures with backoff, then succeeds", async () => {
    let calls = 0;
    const delays: number[] = [];
    const uploader: ChunkUploader = async () => {
      calls += 1;
      if (calls <= 2) throw new UploadError("Server busy", { retryable: true, status: 503 });
      return { errors: [] };
    };
    const q = new UploadQueue({
      uploader,
      concurrency: 1,
      maxAttempts: 3,
      backoffMs: (a) => a * 100,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    q.add(items(5));
    await q.whenIdle();
    expect(calls).toBe(3);
    expect(delays).toEqual([100, 200]);
    expect(q.totals().done).toBe(5);
    expect(q.files().every((f) => f.attempts === 3)).toBe(true);
  });

  it("marks files failed after the last attempt and can retry them later", async () => {
    let healthy = false;
    const uploader: ChunkUploader = async () => {
      if (!healthy) throw new UploadError("Network error", { retryable: true });
      return { errors: [] };
    };
    const q = new UploadQueue({ uploader, concurrency: 2, maxAttempts: 2, sleep: noSleep });
    q.add(items(30));
    await q.whenIdle();
    let t = q.totals();
    expect(t.failed).toBe(30);
    expect(t.settled).toBe(true);
    expect(t.loadedBytes).toBe(0);
    expect(q.problems()[0]?.error).toContain("gave up after 2 attempts");

    healthy = true;
    expect(q.retryFailed()).toBe(30);
    await q.whenIdle();
    t = q.totals();
    expect(t.done).toBe(30);
    expect(t.failed).toBe(0);
    expect(q.problems()).toEqual([]);
  });

  it("does not retry permanent errors and keeps per-file server refusals", async () => {
    let calls = 0;
    const uploader: ChunkUploader = async (chunk) => {
      calls += 1;
      if (chunk.some((c) => c.id === "f0")) {
        return { errors: [{ relPath: chunk[0]!.relPath, message: "Not an image." }] };
      }
      throw new UploadError("Forbidden", { retryable: false, status: 403 });
    };
    const q = new UploadQueue({ uploader, concurrency: 1, maxFilesPerChunk: 2, sleep: noSleep });
    q.add(items(4));
    await q.whenIdle();
    expect(calls).toBe(2);
    const byId = new Map(q.files().map((f) => [f.id, f]));
    expect(byId.get("f0")?.status).toBe("rejected");
    expect(byId.get("f0")?.error).toBe("Not an image.");
    expect(byId.get("f0")?.loaded).toBe(100); // sent, then refused
    expect(byId.get("f2")?.loaded).toBe(0); // never arrived
    expect(byId.get("f1")?.status).toBe("done");
    expect(byId.get("f2")?.status).toBe("failed");
    expect(byId.get("f2")?.error).toBe("Forbidden");
    // Rejected files are not sent again by retryFailed; failed ones are.
    expect(q.retryFailed()).toBe(2);
  });

  it("splits a request the server finds too large", async () => {
    const sizes: number[] = [];
    const uploader: ChunkUploader = async (chunk) => {
      sizes.push(chunk.length);
      if (chunk.length > 5) throw new UploadError("Too large", { retryable: false, status: 413 });
      return { errors: [] };
    };
    const q = new UploadQueue({ uploader, concurrency: 1, maxFilesPerChunk: 20, sleep: noSleep });
    q.add(items(20));
    await q.whenIdle();
    expect(q.totals().done).toBe(20);
    // 20 refused, halves to 10 (refused), then 5 per request.
    expect(sizes).toEqual([20, 10, 5, 5, 5, 5]);
  });

  it("accounts progress by bytes across the files of a request", async () => {
    let report: ((f: number) => void) | undefined;
    let finish: (() => void) | undefined;
    const uploader: ChunkUploader = (chunk, onProgress) => {
      report = onProgress;
      return new Promise((resolve) => {
        finish = () => resolve({ errors: [] });
      });
    };
    const q = new UploadQueue({ uploader, concurrency: 1, maxFilesPerChunk: 4 });
    const list = items(4, 100);
    q.add(list);
    await tick();
    expect(q.totals().uploading).toBe(4);
    report?.(0.5); // 200 of 400 bytes: the first two files are through
    let files = q.files();
    expect(files.map((f) => f.loaded)).toEqual([100, 100, 0, 0]);
    expect(q.totals().loadedBytes).toBe(200);
    expect(q.totals().fraction).toBeCloseTo(0.5);
    report?.(0.625);
    files = q.files();
    expect(files.map((f) => f.loaded)).toEqual([100, 100, 50, 0]);
    finish?.();
    await q.whenIdle();
    expect(q.totals().loadedBytes).toBe(400);
    // Late progress events from a finished request are ignored.
    report?.(0.1);
    expect(q.totals().loadedBytes).toBe(400);
  });

  it("cancel stops the queue and leaves files retryable", async () => {
    const uploader: ChunkUploader = (_chunk, _p, signal) =>
      new Promise((_resolve, reject) => {
        signal.addEventListener("abort", () => reject(new Error("aborted")));
      });
    const q = new UploadQueue({ uploader, concurrency: 2, maxFilesPerChunk: 5 });
    q.add(items(30));
    await tick();
    q.cancel();
    await q.whenIdle();
    const t = q.totals();
    expect(t.failed).toBe(30);
    expect(q.problems().every((p) => p.error === "Upload cancelled.")).toBe(true);
  });

  it("notifies subscribers on change", async () => {
    const q = new UploadQueue({ uploader: async () => ({ errors: [] }) });
    let notified = 0;
    const unsubscribe = q.subscribe(() => {
      notified += 1;
    });
    const before = q.getVersion();
    q.add(items(3));
    await q.whenIdle();
    unsubscribe();
    expect(notified).toBeGreaterThan(0);
    expect(q.getVersion()).toBeGreaterThan(before);
  });
});
