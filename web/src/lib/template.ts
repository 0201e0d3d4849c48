/**
 * Prompt template help: which variables exist and a light tokenizer that
 * highlights them and flags obvious mistakes while typing. The server's
 * preview (POST /jobs/preview) stays the authority on how a prompt renders.
 */

export interface TemplateVariable {
  name: string;
  description: string;
  example: string;
}

export const AUTOMATIC_VARIABLES: TemplateVariable[] = [
  { name: "filename", description: "File name with extension", example: "001.jpg" },
  { name: "stem", description: "File name without extension", example: "001" },
  { name: "folder", description: "Folder of the image inside the dataset", example: "cat/indoor" },
  { name: "class", description: "Top-level folder (the class)", example: "cat" },
  { name: "index", description: "Position of the image in the dataset, from 0", example: "17" },
  { name: "variation", description: "Which variation of the image, from 1", example: "2" },
];

export const SEMI_AUTO_VARIABLES: TemplateVariable[] = [
  {
    name: "index",
    description: "Position of the image in this prompt's batch, from 1",
    example: "7",
  },
  { name: "variation", description: "Position inside its run of 4, from 1", example: "3" },
];

export type TemplateToken =
  | { kind: "text"; text: string }
  | { kind: "variable"; text: string; name: string; known: boolean }
  | { kind: "wildcard"; text: string; options: string[] };

export interface TemplateIssue {
  message: string;
  position: number;
}

export interface TemplateAnalysis {
  tokens: TemplateToken[];
  issues: TemplateIssue[];
  variables: string[];
  wildcards: number;
}

/** Split a template into text, `{variable}` and `{a|b|c}` wildcard tokens. */
export function analyzeTemplate(template: string, known: TemplateVariable[]): TemplateAnalysis {
  const names = new Set(known.map((v) => v.name));
  const tokens: TemplateToken[] = [];
  const issues: TemplateIssue[] = [];
  const variables: string[] = [];
  let wildcards = 0;
  let text = "";
  let i = 0;
  const flush = () => {
    if (text) tokens.push({ kind: "text", text });
    text = "";
  };
  while (i < template.length) {
    const ch = template[i]!;
    if ((ch === "{" || ch === "}") && template[i + 1] === ch) {
      text += ch; // "{{" and "}}" are literal braces
      i += 2;
      continue;
    }
    if (ch === "}") {
      issues.push({
        message: "A closing } has no matching {. Write }} for a literal brace.",
        position: i,
      });
      text += ch;
      i += 1;
      continue;
    }
    if (ch !== "{") {
      text += ch;
      i += 1;
      continue;
    }
    const end = template.indexOf("}", i + 1);
    const nextOpen = template.indexOf("{", i + 1);
    if (end < 0 || (nextOpen >= 0 && nextOpen < end)) {
      issues.push({
        message: "This { is never closed. Write {{ for a literal brace.",
        position: i,
      });
      text += ch;
      i += 1;
      continue;
    }
    const inner = template.slice(i + 1, end);
    const raw = template.slice(i, end + 1);
    flush();
    if (inner.includes("|")) {
      // Choices are used exactly as written; an empty one is allowed ("{|very }dark").
      const options = inner.split("|");
      tokens.push({ kind: "wildcard", text: raw, options });
      wildcards += 1;
    } else {
      const name = inner.trim();
      const isKnown = names.has(name);
      if (!isKnown) {
        const list = known.map((v) => `{${v.name}}`).join(", ");
        issues.push({
          message: name
            ? `Unknown variable {${name}}. Available: ${list}.`
            : "Empty braces {}. Write a variable name or choices like {red|blue}.",
          position: i,
        });
      } else if (!variables.includes(name)) {
        variables.push(name);
      }
      tokens.push({ kind: "variable", text: raw, name, known: isKnown });
    }
    i = end + 1;
  }
  flush();
  return { tokens, issues, variables, wildcards };
}
