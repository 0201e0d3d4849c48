"use client";

import { useRef, useState } from "react";

/** A new prompt's image count until the user changes it. */
export const DEFAULT_COUNT = 40;

export interface PromptRow {
  key: number;
  prompt: string;
  count: number;
}

/**
 * The prompts of a semi-automatic job, one row each with its image count. Rows keep a
 * stable key (never an index), so removing one keeps the others' fields and focus.
 */
export function usePromptRows() {
  const nextKey = useRef(1);
  const [prompts, setPrompts] = useState<PromptRow[]>([
    { key: 0, prompt: "", count: DEFAULT_COUNT },
  ]);

  const updatePrompt = (key: number, patch: Partial<PromptRow>) =>
    setPrompts((rows) => rows.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const addPrompt = () => {
    const key = nextKey.current++;
    setPrompts((rows) => [...rows, { key, prompt: "", count: DEFAULT_COUNT }]);
    requestAnimationFrame(() => document.getElementById(`prompt-${key}`)?.focus());
  };
  const removePrompt = (key: number) => setPrompts((rows) => rows.filter((r) => r.key !== key));
  /** Every row at once, from a job being tried again or duplicated. */
  const replacePrompts = (rows: { prompt: string; count: number }[]) =>
    setPrompts(rows.map((r) => ({ key: nextKey.current++, ...r })));

  return { prompts, updatePrompt, addPrompt, removePrompt, replacePrompts };
}

export type PromptRows = ReturnType<typeof usePromptRows>;
