"use client";

import { useState } from "react";
import { useRouter, useSearchParams } from "next/navigation";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Banana, Loader2, LogIn } from "lucide-react";

import { Alert, AlertDescription } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { api } from "@/lib/api/client";
import { ApiError, errorMessage } from "@/lib/api/errors";
import { keys } from "@/lib/api/queries";

/** Only same-site paths: never bounce to another origin after login. */
function safeNext(value: string | null): string {
  if (!value || !value.startsWith("/") || value.startsWith("//")) return "/";
  if (value.startsWith("/login")) return "/";
  return value;
}

export function LoginForm() {
  const router = useRouter();
  const params = useSearchParams();
  const qc = useQueryClient();
  const [password, setPassword] = useState("");
  const login = useMutation({
    mutationFn: () => api.login(password),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: keys.session });
      qc.removeQueries({ predicate: (q) => q.queryKey[0] !== "session" });
      router.replace(safeNext(params.get("next")));
    },
  });
  const message =
    login.error instanceof ApiError && login.error.status === 401
      ? "That password is not right. Check it and try again."
      : login.error
        ? errorMessage(login.error)
        : null;
  return (
    <Card className="w-full max-w-sm">
      <CardHeader className="text-center">
        <span className="mx-auto mb-2 flex size-11 items-center justify-center rounded-xl bg-primary text-banana">
          <Banana className="size-6" aria-hidden />
        </span>
        <CardTitle as="h1" className="text-xl">
          Sign in to BananaBatch
        </CardTitle>
        <CardDescription>This server is protected by a password.</CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="space-y-4"
          onSubmit={(e) => {
            e.preventDefault();
            if (password) login.mutate();
          }}
        >
          <div className="space-y-2">
            <Label htmlFor="password">Password</Label>
            <Input
              id="password"
              type="password"
              autoComplete="current-password"
              autoFocus
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-invalid={message ? true : undefined}
              aria-describedby={message ? "login-error" : undefined}
            />
          </div>
          {message ? (
            <Alert variant="destructive" id="login-error">
              <AlertDescription>{message}</AlertDescription>
            </Alert>
          ) : null}
          <Button type="submit" className="w-full" disabled={!password || login.isPending}>
            {login.isPending ? (
              <Loader2 className="animate-spin" aria-hidden />
            ) : (
              <LogIn aria-hidden />
            )}
            Sign in
          </Button>
          <p className="text-center text-xs text-muted-foreground">
            The password is the server&apos;s BANANABATCH_PASSWORD setting.
          </p>
        </form>
      </CardContent>
    </Card>
  );
}
