// The /check page: runs the connectivity check and shows each step as a
// list item with its status in words, and a summary read out by screen
// readers when the check ends.
import "./check.css";
import { msg, onLanguageChange } from "../i18n";
import { h, icon, type View } from "../ui/dom";
import { languagePicker } from "../ui/language";
import { runCheck } from "./run";
import type { CheckResults, StepId } from "./results";
import { rows, summarize, type Row } from "./verdict";

const marks: Record<Row["status"], string> = { pass: "✓", warn: "!", fail: "✕", info: "i", running: "…", waiting: "·" };

export function checkView(): View {
  const summary = h("p", { id: "check-summary", class: "check-summary", role: "status", "aria-live": "polite", "data-level": "running" });
  const list = h("ol", { class: "check-list", "aria-label": msg("check.results") });
  const again = h("button", { type: "button", class: "primary", id: "check-again", disabled: true }, msg("check.again"));
  const main = h(
    "main",
    { class: "check-main", "data-state": "running", "aria-busy": "true" },
    h("h1", {}, msg("check.title")),
    h("p", { class: "lead" }, msg("check.lead")),
    summary,
    list,
    h("p", { class: "check-actions" }, again, h("a", { href: "/" }, msg("common.backHome"))),
  );
  const el = h("div", { class: "home check" }, h("header", { class: "home-header" }, h("a", { href: "/", class: "brand" }, h("span", { class: "brand-mark" }, icon("cam")), msg("app.name")), languagePicker("lang-check")), main);

  let controller = new AbortController();
  let last: { r: CheckResults; running: StepId | null; finished: boolean } = { r: { relay: {} }, running: "signaling", finished: false };
  const render = (r: CheckResults, running: StepId | null, finished: boolean, relabel = false) => {
    last = { r, running, finished };
    list.replaceChildren(...rows(r, running).map(rowElement));
    const s = summarize(r, finished);
    // Only the final line is announced; progress would be chatter.
    if (finished || relabel || summary.textContent === "") summary.textContent = s.text;
    summary.dataset.level = s.level;
  };
  // The rows are words made from the findings: a new language re-words them.
  const unsubscribe = onLanguageChange(() => render(last.r, last.running, last.finished, true));
  const start = () => {
    controller.abort();
    controller = new AbortController();
    const signal = controller.signal;
    again.disabled = true;
    main.dataset.state = "running";
    main.setAttribute("aria-busy", "true");
    summary.textContent = "";
    render({ relay: {} }, "signaling", false);
    void runCheck((r, running) => render(r, running, false), signal).then((r) => {
      if (signal.aborted) return;
      render(r, null, true);
      main.dataset.state = "done";
      main.setAttribute("aria-busy", "false");
      again.disabled = false;
    });
  };
  again.addEventListener("click", start);
  start();
  return {
    el,
    dispose: () => {
      unsubscribe();
      controller.abort();
    },
  };
}

function rowElement(r: Row): HTMLLIElement {
  return h(
    "li",
    { class: "check-row", "data-step": r.id, "data-status": r.status },
    h("span", { class: "check-mark", "aria-hidden": "true" }, marks[r.status]),
    h(
      "div",
      { class: "check-body" },
      h("p", { class: "check-title" }, h("strong", {}, r.title), " ", h("span", { class: "check-status" }, r.label)),
      r.detail ? h("p", { class: "check-detail" }, r.detail) : null,
    ),
  );
}
