import { describe, expect, it } from "vitest";

import { analyzeTemplate, AUTOMATIC_VARIABLES } from "./template";

describe("analyzeTemplate", () => {
  it("finds variables and wildcards", () => {
    const a = analyzeTemplate(
      "A {class} photo, {sunny|rainy} day, v{variation}",
      AUTOMATIC_VARIABLES,
    );
    expect(a.issues).toEqual([]);
    expect(a.variables).toEqual(["class", "variation"]);
    expect(a.wildcards).toBe(1);
    expect(a.tokens.map((t) => t.kind)).toEqual([
      "text",
      "variable",
      "text",
      "wildcard",
      "text",
      "variable",
    ]);
    const wildcard = a.tokens[3];
    expect(wildcard?.kind === "wildcard" && wildcard.options).toEqual(["sunny", "rainy"]);
  });

  it("flags unknown variables and unbalanced braces, allows empty choices", () => {
    const a = analyzeTemplate("{colour} {|very }dark {oops } }", AUTOMATIC_VARIABLES);
    const messages = a.issues.map((i) => i.message);
    expect(messages).toHaveLength(3);
    expect(messages[0]).toContain("Unknown variable {colour}");
    expect(messages[1]).toContain("Unknown variable {oops}");
    expect(messages[2]).toContain("closing }");
    const wildcard = a.tokens.find((t) => t.kind === "wildcard");
    expect(wildcard?.kind === "wildcard" && wildcard.options).toEqual(["", "very "]);
    expect(a.issues[0]?.position).toBe(0);

    const b = analyzeTemplate("A {class photo", AUTOMATIC_VARIABLES);
    expect(b.issues[0]?.message).toContain("never closed");
    expect(b.issues[0]?.position).toBe(2);
  });

  it("treats doubled braces as literal text", () => {
    const a = analyzeTemplate("JSON {{like}} this", AUTOMATIC_VARIABLES);
    expect(a.issues).toEqual([]);
    expect(a.tokens).toEqual([{ kind: "text", text: "JSON {like} this" }]);
  });
});
