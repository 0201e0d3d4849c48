"use client";

import { useEffect, useSyncExternalStore } from "react";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useQueryClient } from "@tanstack/react-query";
import {
  Activity,
  Banana,
  Database,
  FolderInput,
  LayoutList,
  Loader2,
  LogOut,
  Sparkles,
} from "lucide-react";

import { Button } from "@/components/ui/button";
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip";
import { ErrorState } from "@/components/app/states";
import { api } from "@/lib/api/client";
import { UNAUTHORIZED_EVENT } from "@/lib/api/http";
import { keys, useHealth, useSession } from "@/lib/api/queries";
import { cn } from "@/lib/utils";

const NAV = [
  {
    href: "/",
    label: "Jobs",
    icon: LayoutList,
    match: (p: string) => p === "/" || p.startsWith("/jobs"),
  },
  {
    href: "/new/automatic/",
    label: "New automatic job",
    icon: FolderInput,
    match: (p: string) => p.startsWith("/new/automatic"),
  },
  {
    href: "/new/semi-auto/",
    label: "New semi-auto job",
    icon: Sparkles,
    match: (p: string) => p.startsWith("/new/semi-auto"),
  },
  {
    href: "/datasets/",
    label: "Datasets",
    icon: Database,
    match: (p: string) => p.startsWith("/datasets"),
  },
  {
    href: "/status/",
    label: "Status",
    icon: Activity,
    match: (p: string) => p.startsWith("/status"),
  },
];

function loginHref(): string {
  const here = `${window.location.pathname}${window.location.search}`;
  return `/login/?next=${encodeURIComponent(here)}`;
}

/** Sends the user to the login page whenever the API says 401, or up front when auth is on. */
function useAuthRedirect(enabled: boolean) {
  const router = useRouter();
  const qc = useQueryClient();
  useEffect(() => {
    if (!enabled) return;
    const onUnauthorized = () => {
      qc.removeQueries({ queryKey: keys.session });
      router.replace(loginHref());
    };
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, [enabled, qc, router]);
}

function ProviderPill() {
  const health = useHealth();
  const h = health.data;
  if (!h) return null;
  const classic = h.provider.name === "classic";
  return (
    <div className="rounded-lg border bg-background/60 p-3 text-xs leading-relaxed">
      <div className="flex items-center gap-2 font-medium text-foreground">
        <span
          className={cn("size-2 rounded-full", h.ok && h.executor.ok ? "bg-success" : "bg-warning")}
          aria-hidden
        />
        {classic ? "Classic augmentation" : "Gemini (Nano Banana)"}
      </div>
      <p className="mt-1 text-muted-foreground">
        {classic
          ? "Offline, free, no key. Set GEMINI_API_KEY for Nano Banana."
          : "Gemini key configured."}{" "}
        Executor: {h.executor.name}.
      </p>
      <p className="mt-1 text-muted-foreground/80">v{h.version}</p>
    </div>
  );
}

function Sidebar({ authRequired }: { authRequired: boolean }) {
  const pathname = usePathname();
  const router = useRouter();
  const qc = useQueryClient();
  const logout = async () => {
    await api.logout().catch(() => undefined);
    qc.clear();
    router.replace("/login/");
  };
  // Below 1280 px the sidebar is a rail of icons (with tooltips), so tables and
  // two-column forms keep their room on a laptop screen.
  return (
    <aside className="sticky top-0 hidden h-screen w-16 shrink-0 flex-col border-r bg-sidebar px-2 py-4 lg:flex xl:w-60 xl:px-3">
      <Link
        href="/"
        className="mb-6 flex items-center justify-center gap-2 xl:justify-start xl:px-2"
        aria-label="BananaBatch home"
      >
        <span className="flex size-8 shrink-0 items-center justify-center rounded-lg bg-primary text-banana">
          <Banana className="size-5" aria-hidden />
        </span>
        <span className="hidden text-base font-semibold tracking-tight xl:inline">BananaBatch</span>
      </Link>
      <nav aria-label="Main" className="flex flex-col gap-1">
        {NAV.map((item) => {
          const active = item.match(pathname);
          return (
            <Tooltip key={item.href}>
              <TooltipTrigger asChild>
                <Link
                  href={item.href}
                  aria-current={active ? "page" : undefined}
                  aria-label={item.label}
                  className={cn(
                    "flex items-center justify-center gap-2.5 rounded-md px-2.5 py-2 text-sm font-medium text-sidebar-foreground/80 transition-colors outline-none hover:bg-sidebar-accent hover:text-sidebar-accent-foreground focus-visible:ring-[3px] focus-visible:ring-ring/50 xl:justify-start",
                    active && "bg-sidebar-accent text-sidebar-accent-foreground",
                  )}
                >
                  <item.icon className="size-4 shrink-0" aria-hidden />
                  <span className="hidden xl:inline">{item.label}</span>
                </Link>
              </TooltipTrigger>
              <TooltipContent side="right" className="xl:hidden">
                {item.label}
              </TooltipContent>
            </Tooltip>
          );
        })}
      </nav>
      <div className="mt-auto flex flex-col gap-3">
        <div className="hidden xl:block">
          <ProviderPill />
        </div>
        {authRequired ? (
          <Button
            variant="ghost"
            size="sm"
            className="justify-center xl:justify-start"
            onClick={logout}
            aria-label="Sign out"
          >
            <LogOut aria-hidden /> <span className="hidden xl:inline">Sign out</span>
          </Button>
        ) : null}
      </div>
    </aside>
  );
}

function TopBar() {
  const pathname = usePathname();
  return (
    <header className="sticky top-0 z-30 flex items-center gap-1 border-b bg-background/95 px-4 py-2 backdrop-blur lg:hidden">
      <Link href="/" className="mr-3 flex items-center gap-2" aria-label="BananaBatch home">
        <span className="flex size-7 items-center justify-center rounded-md bg-primary text-banana">
          <Banana className="size-4" aria-hidden />
        </span>
      </Link>
      <nav aria-label="Main" className="flex gap-1 overflow-x-auto">
        {NAV.map((item) => {
          const active = item.match(pathname);
          return (
            <Tooltip key={item.href}>
              <TooltipTrigger asChild>
                <Link
                  href={item.href}
                  aria-current={active ? "page" : undefined}
                  className={cn(
                    "flex items-center gap-1.5 rounded-md px-2.5 py-1.5 text-sm whitespace-nowrap text-muted-foreground hover:bg-accent",
                    active && "bg-accent text-foreground",
                  )}
                >
                  <item.icon className="size-4" aria-hidden />
                  <span className="hidden sm:inline">{item.label}</span>
                </Link>
              </TooltipTrigger>
              <TooltipContent className="sm:hidden">{item.label}</TooltipContent>
            </Tooltip>
          );
        })}
      </nav>
    </header>
  );
}

const noSubscription = () => () => {};

/** False in the exported HTML and while it hydrates, true after: the page itself is
 * never in the static HTML, where it could be used before its handlers are attached. */
function useHydrated(): boolean {
  return useSyncExternalStore(
    noSubscription,
    () => true,
    () => false,
  );
}

export function AppShell({ children }: { children: React.ReactNode }) {
  const pathname = usePathname();
  const router = useRouter();
  const isLogin = pathname.startsWith("/login");
  const session = useSession();
  const hydrated = useHydrated();
  const authRequired = session.data?.auth_required ?? false;
  const needsLogin = Boolean(session.data?.auth_required && !session.data.authenticated);
  useAuthRedirect(!isLogin);

  useEffect(() => {
    if (!isLogin && needsLogin) router.replace(loginHref());
  }, [isLogin, needsLogin, router]);

  if (isLogin) {
    return <main className="flex min-h-screen items-center justify-center p-6">{children}</main>;
  }
  const loading = (
    <div className="flex min-h-screen items-center justify-center" role="status">
      <Loader2 className="size-6 animate-spin text-muted-foreground" aria-hidden />
      <span className="sr-only">Loading BananaBatch…</span>
    </div>
  );
  if (needsLogin || !hydrated) return loading;
  if (session.isError) {
    return (
      <main className="flex min-h-screen items-center justify-center p-6">
        <ErrorState
          title="BananaBatch is not reachable"
          error={session.error}
          onRetry={() => void session.refetch()}
        />
      </main>
    );
  }
  // While the session is checked the page is already mounted, hidden, so its own data
  // is asked for in the same round trip instead of after it.
  const checking = session.isPending;
  return (
    <>
      {checking ? loading : null}
      <div className={checking ? "hidden" : "flex min-h-screen"}>
        <Sidebar authRequired={authRequired} />
        <div className="flex min-w-0 flex-1 flex-col">
          <TopBar />
          <main
            id="main"
            className="mx-auto w-full max-w-[1400px] flex-1 px-4 py-6 sm:px-6 lg:px-8"
          >
            {children}
          </main>
        </div>
      </div>
    </>
  );
}
