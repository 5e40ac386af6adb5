// The screen after a call: rejoin or go home.
import { h, type View } from "./dom";

export function endedView(message: string, onRejoin: (() => void) | null, onHome: () => void): View {
  const el = h(
    "div",
    { class: "ended" },
    h("h1", {}, message),
    h(
      "div",
      { class: "ended-actions" },
      onRejoin ? h("button", { type: "button", class: "ghost", id: "rejoin", onclick: onRejoin }, "Rejoin") : null,
      h("button", { type: "button", class: "primary", id: "home", onclick: onHome }, "Return to home screen"),
    ),
  );
  return { el, dispose() {} };
}
