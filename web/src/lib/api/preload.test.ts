import { afterEach, describe, expect, it, vi } from "vitest";

import { EARLY_REQUESTS_SCRIPT, OUTPUT_PAGE, startEarlyRequests, takeEarly } from "./preload";

const ID = "0123456789abcdef0123456789abcdef";

function visit(path: string): string[] {
  vi.stubGlobal("window", { location: new URL(path, "http://127.0.0.1:8000") });
  const asked: string[] = [];
  vi.stubGlobal("fetch", (url: string) => {
    asked.push(new URL(url).pathname + new URL(url).search);
    return Promise.resolve(new Response(url));
  });
  startEarlyRequests(OUTPUT_PAGE);
  return asked;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("early requests", () => {
  it("asks for the session, and on a job's page for the job and its first outputs", () => {
    expect(visit(`/jobs/view/?id=${ID}`)).toEqual([
      "/api/v1/auth/session",
      `/api/v1/jobs/${ID}`,
      `/api/v1/jobs/${ID}/outputs?limit=${OUTPUT_PAGE}`,
    ]);
    expect(visit("/datasets/")).toEqual(["/api/v1/auth/session"]);
    expect(visit("/jobs/view/?id=../../etc")).toEqual(["/api/v1/auth/session"]);
  });

  it("hands each early answer to the matching GET once", async () => {
    visit(`/jobs/view/?id=${ID}`);
    const url = new URL(`/api/v1/jobs/${ID}`, window.location.href).href;
    expect(takeEarly(new Request(url, { method: "POST" }))).toBeUndefined();
    const answer = takeEarly(new Request(url));
    expect(await (await answer!).text()).toBe(url);
    expect(takeEarly(new Request(url))).toBeUndefined();
    expect(takeEarly(new Request(`${url}/other`))).toBeUndefined();
  });

  it("drops an answer nobody took in time", () => {
    visit(`/jobs/view/?id=${ID}`);
    const url = new URL("/api/v1/auth/session", window.location.href).href;
    expect(takeEarly(new Request(url), Date.now() + 60_000)).toBeUndefined();
  });

  it("is a self-contained script for the page's head", () => {
    expect(EARLY_REQUESTS_SCRIPT).toMatch(/^\(function|^\(\w*\s*\(/);
    expect(EARLY_REQUESTS_SCRIPT.endsWith(`)(${OUTPUT_PAGE});`)).toBe(true);
  });
});
