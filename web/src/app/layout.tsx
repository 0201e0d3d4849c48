import type { Metadata, Viewport } from "next";

import { Providers } from "@/components/app/providers";
import { AppShell } from "@/components/app/app-shell";
import { EARLY_REQUESTS_SCRIPT } from "@/lib/api/preload";

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
      <head>
        {/* The page's first API answers are asked for while the app's code loads. */}
        <script dangerouslySetInnerHTML={{ __html: EARLY_REQUESTS_SCRIPT }} />
      </head>
      <body className="min-h-screen">
        <Providers>
          <AppShell>{children}</AppShell>
        </Providers>
      </body>
    </html>
  );
}
