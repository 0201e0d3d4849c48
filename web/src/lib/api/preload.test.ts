import { afterEach, describe, expect, it, vi } from "vitest";

import {
  EARLY_REQUESTS_SCRIPT,
  EARLY_THUMBNAILS,
  OUTPUT_PAGE,
  startEarlyRequests,
  takeEarly,
} from "./preload";

const ID = "0123456789abcdef0123456789abcdef";

interface FakeLink {
  rel: string;
  as: string;
  href: string;
}

function visit(
  path: string,
  outputs: unknown = { items: [] },
): { asked: string[]; links: FakeLink[] } {
  vi.stubGlobal("window", { location: new URL(path, "http://127.0.0.1:8000") });
  const links: FakeLink[] = [];
  vi.stubGlobal("document", {
    createElement: () => ({ rel: "", as: "", href: "" }),
    head: { appendChild: (link: FakeLink) => links.push(link) },
  });
  const asked: string[] = [];
  vi.stubGlobal("fetch", (url: string) => {
    const { pathname, search } = new URL(url);
    asked.push(pathname + search);
    const body = pathname.endsWith("/outputs") ? JSON.stringify(outputs) : url;
    return Promise.resolve(new Response(body));
  });
  startEarlyRequests(OUTPUT_PAGE, EARLY_THUMBNAILS);
  return { asked, links };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("early requests", () => {
  it("asks for the session, and on a job's page for the job and its first outputs", () => {
    expect(visit(`/jobs/view/?id=${ID}`).asked).toEqual([
      "/api/v1/auth/session",
      `/api/v1/jobs/${ID}`,
      `/api/v1/jobs/${ID}/outputs?limit=${OUTPUT_PAGE}`,
    ]);
    expect(visit("/datasets/").asked).toEqual(["/api/v1/auth/session"]);
    expect(visit("/jobs/view/?id=../../etc").asked).toEqual(["/api/v1/auth/session"]);
  });

  it("fetches the first thumbnails ahead and leaves the page's answer unread", async () => {
    const items = Array.from({ length: EARLY_THUMBNAILS + 5 }, (_, i) => ({
      thumbnail_url: i === 1 ? null : `/api/v1/outputs/${i}/thumbnail?v=0.1`,
    }));
    const { links } = visit(`/jobs/view/?id=${ID}`, { items });
    const url = new URL(`/api/v1/jobs/${ID}/outputs?limit=${OUTPUT_PAGE}`, "http://127.0.0.1:8000");
    const answer = await takeEarly(new Request(url.href))!;
    await vi.waitFor(() => expect(links.length).toBe(EARLY_THUMBNAILS - 1));
    expect(links.every((l) => l.rel === "preload" && l.as === "image")).toBe(true);
    expect(links[0]?.href).toBe("/api/v1/outputs/0/thumbnail?v=0.1");
    expect(links.map((l) => l.href)).not.toContain(null);
    expect((await answer.json()).items).toHaveLength(EARLY_THUMBNAILS + 5);
  });

  it("hands each early answer to the matching GET once", async () => {
    visit(`/jobs/view/?id=${ID}`);
    const url = new URL(`/api/v1/jobs/${ID}`, "http://127.0.0.1:8000").href;
    expect(takeEarly(new Request(url, { method: "POST" }))).toBeUndefined();
    const answer = takeEarly(new Request(url));
    expect(await (await answer!).text()).toBe(url);
    expect(takeEarly(new Request(url))).toBeUndefined();
    expect(takeEarly(new Request(`${url}/other`))).toBeUndefined();
  });

  it("drops an answer nobody took in time", () => {
    visit(`/jobs/view/?id=${ID}`);
    const url = new URL("/api/v1/auth/session", "http://127.0.0.1:8000").href;
    expect(takeEarly(new Request(url), Date.now() + 60_000)).toBeUndefined();
  });

  it("is a self-contained script for the page's head", () => {
    expect(EARLY_REQUESTS_SCRIPT).toMatch(/^\(function|^\(\w*\s*\(/);
    expect(EARLY_REQUESTS_SCRIPT.endsWith(`)(${OUTPUT_PAGE}, ${EARLY_THUMBNAILS});`)).toBe(true);
  });
});
