import type { Metadata } from "next";

import { DatasetLibrary } from "@/components/datasets/dataset-library";

export const metadata: Metadata = { title: "Datasets" };

export default function DatasetsPage() {
  return <DatasetLibrary />;
}
