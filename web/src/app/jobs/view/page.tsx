import type { Metadata } from "next";
import { Suspense } from "react";

import { LoadingRows } from "@/components/app/states";
import { JobView } from "@/components/job/job-view";

export const metadata: Metadata = { title: "Job" };

export default function JobPage() {
  return (
    <Suspense fallback={<LoadingRows rows={4} />}>
      <JobView />
    </Suspense>
  );
}
