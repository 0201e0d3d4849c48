import type { Metadata } from "next";

import { SemiAutoJobForm } from "@/components/new-job/semi-auto-form";

export const metadata: Metadata = { title: "New semi-automatic job" };

export default function NewSemiAutoJobPage() {
  return <SemiAutoJobForm />;
}
