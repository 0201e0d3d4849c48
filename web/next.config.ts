import type { NextConfig } from "next";
import { PHASE_DEVELOPMENT_SERVER } from "next/constants";

/**
 * Production: a static export (web/out) that `bananabatch serve` hosts at `/`.
 * Pages that need an id read it from the query string so a reload works on the
 * static server. Development (`make dev`): `next dev` proxies /api to the Python
 * server so cookies and same-origin URLs behave exactly as in production.
 */
const apiOrigin = process.env.BANANABATCH_API_ORIGIN ?? "http://127.0.0.1:8000";

export default function config(phase: string): NextConfig {
  const base: NextConfig = {
    trailingSlash: true,
    reactStrictMode: true,
    poweredByHeader: false,
    images: { unoptimized: true },
  };
  if (phase === PHASE_DEVELOPMENT_SERVER) {
    return {
      ...base,
      // API paths have no trailing slash: proxy them as they are.
      skipTrailingSlashRedirect: true,
      async rewrites() {
        return [{ source: "/api/:path*", destination: `${apiOrigin}/api/:path*` }];
      },
    };
  }
  return { ...base, output: "export" };
}
