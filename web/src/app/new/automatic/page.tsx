import type { Metadata } from "next";

import { AutomaticJobForm } from "@/components/new-job/automatic-form";

export const metadata: Metadata = { title: "New automatic job" };

export default function NewAutomaticJobPage() {
  return <AutomaticJobForm />;
}
