import type { Metadata, Viewport } from "next";

import { Providers } from "@/components/app/providers";
import { AppShell } from "@/components/app/app-shell";

import "./globals.css";

export const metadata: Metadata = {
  title: { default: "BananaBatch", template: "%s · BananaBatch" },
  description:
    "Batch image generation with Nano Banana: dataset augmentation and creative batches.",
  icons: { icon: "/favicon.svg" },
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen">
        <Providers>
          <AppShell>{children}</AppShell>
        </Providers>
      </body>
    </html>
  );
}
