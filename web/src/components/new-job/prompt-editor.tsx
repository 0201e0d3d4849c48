"use client";

import { useMemo, useRef } from "react";
import { AlertTriangle, Braces, Shuffle } from "lucide-react";

import { Label } from "@/components/ui/label";
import { Textarea } from "@/components/ui/textarea";
import { Tooltip, TooltipContent, TooltipTrigger } from "@/components/ui/tooltip";
import { PROMPT_MAX_CHARS } from "@/lib/api/limits";
import { formatInt } from "@/lib/format";
import { analyzeTemplate, type TemplateVariable } from "@/lib/template";
import { cn } from "@/lib/utils";

/**
 * A prompt textarea with its template help: variables insert at the cursor,
 * wildcards are explained, and obvious template mistakes show while typing.
 */
export function PromptEditor({
  id,
  label,
  value,
  onChange,
  variables,
  placeholder,
  serverError,
  rows = 4,
  showHelp = true,
  maxChars = PROMPT_MAX_CHARS,
}: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  variables: TemplateVariable[];
  placeholder?: string;
  serverError?: string | null;
  rows?: number;
  showHelp?: boolean;
  /** The server's limit (from the API schema); counted at the field. */
  maxChars?: number;
}) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const analysis = useMemo(() => analyzeTemplate(value, variables), [value, variables]);
  const insert = (text: string) => {
    const el = ref.current;
    const start = el?.selectionStart ?? value.length;
    const end = el?.selectionEnd ?? value.length;
    const next = value.slice(0, start) + text + value.slice(end);
    onChange(next);
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(start + text.length, start + text.length);
    });
  };
  const over = value.length - maxChars;
  const issues =
    over > 0
      ? [
          {
            position: maxChars,
            message: `${formatInt(over)} character${over === 1 ? "" : "s"} over the limit of ${formatInt(maxChars)}: shorten the prompt.`,
          },
          ...analysis.issues,
        ]
      : analysis.issues;
  const describedBy = [
    `${id}-help`,
    `${id}-count`,
    issues.length || serverError ? `${id}-issues` : null,
  ]
    .filter(Boolean)
    .join(" ");
  return (
    <div className="space-y-2">
      <div className="flex items-baseline justify-between gap-2">
        <Label htmlFor={id}>{label}</Label>
        <span
          id={`${id}-count`}
          data-testid={`${id}-count`}
          className={cn(
            "text-[11px] text-muted-foreground tabular-nums",
            over > 0 && "font-medium text-destructive",
            over <= 0 && value.length > maxChars * 0.9 && "text-[oklch(0.5_0.13_60)]",
          )}
          aria-label={`${formatInt(value.length)} of at most ${formatInt(maxChars)} characters`}
        >
          {formatInt(value.length)} / {formatInt(maxChars)}
        </span>
      </div>
      <Textarea
        ref={ref}
        id={id}
        value={value}
        rows={rows}
        placeholder={placeholder}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={issues.length > 0 || Boolean(serverError) || undefined}
        aria-describedby={describedBy}
        className="max-h-64 min-h-24 overflow-y-auto font-mono text-[13px] leading-relaxed"
        spellCheck
      />
      {showHelp ? (
        <div
          id={`${id}-help`}
          className="flex flex-wrap items-center gap-1.5 text-xs text-muted-foreground"
        >
          <span className="inline-flex items-center gap-1">
            <Braces className="size-3.5" aria-hidden /> Insert:
          </span>
          {variables.map((v) => (
            <Tooltip key={v.name}>
              <TooltipTrigger asChild>
                <button
                  type="button"
                  onClick={() => insert(`{${v.name}}`)}
                  className={cn(
                    "rounded border bg-background px-1.5 py-0.5 font-mono text-[11px] text-foreground outline-none hover:bg-accent focus-visible:ring-[3px] focus-visible:ring-ring/50",
                    analysis.variables.includes(v.name) && "border-banana-strong bg-banana/25",
                  )}
                  aria-label={`Insert {${v.name}}: ${v.description}`}
                >
                  {`{${v.name}}`}
                </button>
              </TooltipTrigger>
              <TooltipContent>
                {v.description} — e.g. <span className="font-mono">{v.example}</span>
              </TooltipContent>
            </Tooltip>
          ))}
          <Tooltip>
            <TooltipTrigger asChild>
              <button
                type="button"
                onClick={() => insert("{sunny|rainy|foggy}")}
                className="inline-flex items-center gap-1 rounded border bg-background px-1.5 py-0.5 font-mono text-[11px] text-foreground outline-none hover:bg-accent focus-visible:ring-[3px] focus-visible:ring-ring/50"
                aria-label="Insert a wildcard: one of several choices, picked per image"
              >
                <Shuffle className="size-3" aria-hidden /> {"{a|b|c}"}
              </button>
            </TooltipTrigger>
            <TooltipContent>
              Wildcard: each image gets one of the choices, picked reproducibly from the job&apos;s
              seed.
            </TooltipContent>
          </Tooltip>
        </div>
      ) : (
        <span id={`${id}-help`} hidden />
      )}
      {issues.length > 0 || serverError ? (
        <ul id={`${id}-issues`} className="space-y-1 text-xs text-destructive" aria-live="polite">
          {serverError ? (
            <li className="flex items-start gap-1.5">
              <AlertTriangle className="mt-px size-3.5 shrink-0" aria-hidden />
              {serverError}
            </li>
          ) : null}
          {issues.slice(0, 3).map((issue) => (
            <li key={`${issue.position}-${issue.message}`} className="flex items-start gap-1.5">
              <AlertTriangle className="mt-px size-3.5 shrink-0" aria-hidden />
              {issue.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
