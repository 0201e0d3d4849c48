/**
 * A browser upload queue for datasets of thousands of files.
 *
 * Files are packed into requests of at most `maxFilesPerChunk` files and
 * `maxBytesPerChunk` bytes; at most `concurrency` requests are in flight.
 * A request that fails for a transient reason (network, 5xx, 429) is retried
 * with backoff; a 413 splits the request in two; files the server rejects
 * (not an image, too large, ...) get their own error and are never resent.
 * Files whose transfer finally failed can be re-queued with `retryFailed()`.
 *
 * The queue knows nothing about HTTP: the `uploader` function does the request,
 * which keeps this logic testable without a browser.
 */

export interface UploadItem {
  id: string;
  relPath: string;
  size: number;
  file: Blob;
}

/** queued -> uploading -> done | rejected (server refused the file) | failed (transfer). */
export type FileStatus = "queued" | "uploading" | "done" | "rejected" | "failed";

export interface FileState {
  id: string;
  relPath: string;
  size: number;
  loaded: number;
  status: FileStatus;
  attempts: number;
  error: string | null;
}

export interface ChunkReport {
  /** Per-file refusals by relative path; every other file of the request succeeded. */
  errors: { relPath: string; message: string }[];
}

/** Thrown by an uploader: `retryable` for transient failures, `status` for HTTP ones. */
export class UploadError extends Error {
  readonly retryable: boolean;
  readonly status: number | undefined;

  constructor(message: string, options: { retryable: boolean; status?: number }) {
    super(message);
    this.name = "UploadError";
    this.retryable = options.retryable;
    this.status = options.status;
  }
}

export type ChunkUploader = (
  items: UploadItem[],
  onProgress: (fraction: number) => void,
  signal: AbortSignal,
) => Promise<ChunkReport>;

export interface UploadQueueOptions {
  uploader: ChunkUploader;
  concurrency?: number;
  maxFilesPerChunk?: number;
  maxBytesPerChunk?: number;
  /** Attempts per request before its files are marked failed. */
  maxAttempts?: number;
  backoffMs?: (attempt: number) => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface UploadTotals {
  files: number;
  bytes: number;
  loadedBytes: number;
  queued: number;
  uploading: number;
  done: number;
  rejected: number;
  failed: number;
  /** Bytes sent / bytes to send, 0..1; uploaded and refused files count whole. */
  fraction: number;
  /** Every file reached done, rejected or failed. */
  settled: boolean;
}

const defaultBackoff = (attempt: number): number =>
  Math.min(10_000, 500 * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);

const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });

function errorMessage(err: unknown): string {
  if (err instanceof Error && err.message) return err.message;
  return "The upload failed for an unknown reason.";
}

export class UploadQueue {
  private readonly uploader: ChunkUploader;
  private readonly concurrency: number;
  /** Files per request; halves after a 413 so later requests fit. */
  private maxFiles: number;
  private readonly maxBytes: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: (attempt: number) => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  private readonly items = new Map<string, UploadItem>();
  private readonly states = new Map<string, FileState>();
  private pending: string[] = [];
  private active = 0;
  private counts: Record<FileStatus, number> = {
    queued: 0,
    uploading: 0,
    done: 0,
    rejected: 0,
    failed: 0,
  };
  private totalBytes = 0;
  private loadedBytes = 0;
  private controller = new AbortController();
  private readonly listeners = new Set<() => void>();
  private idleWaiters: (() => void)[] = [];
  private version = 0;

  constructor(options: UploadQueueOptions) {
    this.uploader = options.uploader;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.maxFiles = Math.max(1, options.maxFilesPerChunk ?? 20);
    this.maxBytes = Math.max(1, options.maxBytesPerChunk ?? 32 * 1024 * 1024);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.backoffMs = options.backoffMs ?? defaultBackoff;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** Queue files and start sending them. Files with an id already queued are ignored. */
  add(items: UploadItem[]): void {
    for (const item of items) {
      if (this.items.has(item.id)) continue;
      this.items.set(item.id, item);
      const state: FileState = {
        id: item.id,
        relPath: item.relPath,
        size: item.size,
        loaded: 0,
        status: "queued",
        attempts: 0,
        error: null,
      };
      this.states.set(item.id, state);
      this.counts.queued += 1;
      this.totalBytes += item.size;
      this.pending.push(item.id);
    }
    this.changed();
    this.pump();
  }

  /** Re-queue every file whose transfer failed; returns how many. */
  retryFailed(): number {
    let n = 0;
    if (this.controller.signal.aborted) this.controller = new AbortController();
    for (const state of this.states.values()) {
      if (state.status !== "failed") continue;
      this.setStatus(state, "queued");
      state.error = null;
      state.attempts = 0;
      this.pending.push(state.id);
      n += 1;
    }
    this.changed();
    this.pump();
    return n;
  }

  /** Stop: abort requests in flight, mark every unfinished file failed (retryable). */
  cancel(): void {
    this.controller.abort();
    for (const id of this.pending) {
      const state = this.states.get(id);
      if (state) this.fail(state, "Upload cancelled.");
    }
    this.pending = [];
    this.changed();
  }

  /** Resolves once nothing is queued or in flight. */
  whenIdle(): Promise<void> {
    if (this.active === 0 && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Increments on every change: a cheap snapshot key for React. */
  getVersion(): number {
    return this.version;
  }

  totals(): UploadTotals {
    const c = this.counts;
    const files = this.states.size;
    return {
      files,
      bytes: this.totalBytes,
      loadedBytes: this.loadedBytes,
      queued: c.queued,
      uploading: c.uploading,
      done: c.done,
      rejected: c.rejected,
      failed: c.failed,
      fraction:
        this.totalBytes > 0 ? Math.min(1, this.loadedBytes / this.totalBytes) : files ? 1 : 0,
      settled: files > 0 && c.done + c.rejected + c.failed === files,
    };
  }

  /** Every file's state, in the order added. */
  files(): FileState[] {
    return [...this.states.values()];
  }

  /** Files that did not make it, with their error. */
  problems(): FileState[] {
    return this.files().filter((s) => s.status === "rejected" || s.status === "failed");
  }

  // ---- internals ----

  private changed(): void {
    this.version += 1;
    for (const listener of this.listeners) listener();
  }

  private setStatus(state: FileState, status: FileStatus): void {
    this.counts[state.status] -= 1;
    this.counts[status] += 1;
    state.status = status;
  }

  private setLoaded(state: FileState, loaded: number): void {
    const clamped = Math.max(0, Math.min(state.size, loaded));
    this.loadedBytes += clamped - state.loaded;
    state.loaded = clamped;
  }

  private fail(state: FileState, message: string): void {
    this.setLoaded(state, 0);
    this.setStatus(state, "failed");
    state.error = message;
  }

  private takeChunk(): UploadItem[] {
    const chunk: UploadItem[] = [];
    let bytes = 0;
    while (this.pending.length > 0 && chunk.length < this.maxFiles) {
      const id = this.pending[0];
      const item = id === undefined ? undefined : this.items.get(id);
      if (!item) {
        this.pending.shift();
        continue;
      }
      if (chunk.length > 0 && bytes + item.size > this.maxBytes) break;
      this.pending.shift();
      chunk.push(item);
      bytes += item.size;
    }
    return chunk;
  }

  private pump(): void {
    while (this.active < this.concurrency && this.pending.length > 0) {
      const chunk = this.takeChunk();
      if (chunk.length === 0) break;
      this.active += 1;
      void this.send(chunk).finally(() => {
        this.active -= 1;
        this.pump();
        if (this.active === 0 && this.pending.length === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
    }
  }

  private async send(chunk: UploadItem[]): Promise<void> {
    const signal = this.controller.signal;
    const states = chunk.map((item) => this.states.get(item.id)).filter((s) => s !== undefined);
    const chunkBytes = states.reduce((sum, s) => sum + s.size, 0);
    for (let attempt = 1; ; attempt += 1) {
      if (signal.aborted) {
        for (const s of states) this.fail(s, "Upload cancelled.");
        this.changed();
        return;
      }
      for (const s of states) {
        if (s.status !== "uploading") this.setStatus(s, "uploading");
        s.attempts = attempt;
        this.setLoaded(s, 0);
      }
      this.changed();
      let live = true;
      const onProgress = (fraction: number): void => {
        if (!live) return;
        let remaining = Math.max(0, Math.min(1, fraction)) * chunkBytes;
        for (const s of states) {
          const part = Math.min(s.size, remaining);
          this.setLoaded(s, part);
          remaining -= part;
        }
        this.changed();
      };
      try {
        const report = await this.uploader(chunk, onProgress, signal);
        live = false;
        this.applyReport(states, report);
        this.changed();
        return;
      } catch (err) {
        live = false;
        if (signal.aborted) {
          for (const s of states) this.fail(s, "Upload cancelled.");
          this.changed();
          return;
        }
        if (err instanceof UploadError && err.status === 413 && chunk.length > 1) {
          // Too big for one request: send the halves as separate requests.
          for (const s of states) {
            this.setLoaded(s, 0);
            this.setStatus(s, "queued");
          }
          this.pending.unshift(...chunk.map((item) => item.id));
          this.maxFiles = Math.max(1, Math.min(this.maxFiles, Math.floor(chunk.length / 2)));
          this.changed();
          return;
        }
        const retryable = err instanceof UploadError ? err.retryable : true;
        if (retryable && attempt < this.maxAttempts) {
          for (const s of states) this.setLoaded(s, 0);
          this.changed();
          await this.sleep(this.backoffMs(attempt), signal);
          continue;
        }
        const message = retryable
          ? `${errorMessage(err)} (gave up after ${attempt} ${attempt === 1 ? "attempt" : "attempts"})`
          : errorMessage(err);
        for (const s of states) this.fail(s, message);
        this.changed();
        return;
      }
    }
  }

  private applyReport(states: FileState[], report: ChunkReport): void {
    const byPath = new Map<string, string>();
    for (const e of report.errors) byPath.set(e.relPath, e.message);
    for (const s of states) {
      const error = byPath.get(s.relPath);
      if (error !== undefined) {
        // Its bytes did travel: count them, so a refusal does not leave the bar short.
        this.setLoaded(s, s.size);
        this.setStatus(s, "rejected");
        s.error = error;
      } else {
        this.setLoaded(s, s.size);
        this.setStatus(s, "done");
        s.error = null;
      }
    }
  }
}
