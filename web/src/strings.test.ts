/// <reference types="vite/client" />
// No interface text outside the catalogues: every source file of the app
// (not the catalogues, not the tests) is scanned for string literals shown
// on screen (see i18n/scan.ts), and the scanner itself is shown to catch
// each kind of place it looks at.
import { describe, expect, it } from "vitest";
import { scanText } from "./i18n/scan";

const sources = import.meta.glob<string>(["./**/*.ts", "!./**/*.test.ts", "!./i18n.ts", "!./i18n/**"], { query: "?raw", import: "default", eager: true });

describe("no hard-coded interface text", () => {
  it("scans the app's sources", () => {
    expect(Object.keys(sources)).toContain("./ui/meeting-view.ts");
    expect(Object.keys(sources).length).toBeGreaterThan(20);
  });
  for (const [file, src] of Object.entries(sources)) {
    it(file, () => {
      expect(scanText(src).map((f) => `${file}:${f.line} ${f.where}: ${JSON.stringify(f.text)}`)).toEqual([]);
    });
  }
});

describe("scanText", () => {
  const found = (src: string) => scanText(src).map((f) => f.text);
  it("finds text children and text attributes of h()", () => {
    expect(found(`h("p", {}, "Hello there")`)).toEqual(["Hello there"]);
    expect(found(`h("p", {}, cond ? "Yes" : msg("a.b"))`)).toEqual(["Yes"]);
    expect(found("h(\"p\", {}, `Hi ${name}`)")).toEqual(["Hi  "]);
    expect(found(`h("button", { type: "button", "aria-label": "Close", title: \`Pin \${x}\` }, icon("close"))`)).toEqual(["Close", "Pin  "]);
    expect(found(`h("div", { class: "a b", id: "x" }, h("span", {}, "Inner"))`)).toEqual(["Inner"]);
  });
  it("finds notices, labels and assignments", () => {
    expect(found(`toast("Saved")`)).toEqual(["Saved"]);
    expect(found(`announce(on ? "Microphone on" : "off")`)).toEqual(["Microphone on", "off"]);
    expect(found(`el.textContent = "Connecting…";`)).toEqual(["Connecting…"]);
    expect(found(`el.title = label;\nx.title = "Tip";`)).toEqual(["Tip"]);
    expect(found(`btn.setAttribute("aria-label", "Leave");`)).toEqual(["Leave"]);
    expect(found(`setAttr(el, "title", "Pin");`)).toEqual(["Pin"]);
    expect(found(`this.emit("notice", "Reconnected.");`)).toEqual(["Reconnected."]);
    expect(found(`return { ok: false, error: "Bad code" };`)).toEqual(["Bad code"]);
  });
  it("lets catalogue messages, markup and code through", () => {
    expect(found(`h("p", { class: "lead", "aria-label": msg("x.y") }, t("a.b", { n: "2" }), " · ", icon("plus"))`)).toEqual([]);
    expect(found(`el.setAttribute("role", "status"); el.dataset.state = "on";`)).toEqual([]);
    expect(found(`const re = /["']+/g; toast(msg("a"));`)).toEqual([]);
    expect(found(`// toast("in a comment")\n/* h("p", {}, "too") */`)).toEqual([]);
  });
});
