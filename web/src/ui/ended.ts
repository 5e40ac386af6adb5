// The screen after a call: rejoin or go home.
import { msg, type Msg } from "../i18n";
import { h, type View } from "./dom";

export function endedView(message: Msg, onRejoin: (() => void) | null, onHome: () => void): View {
  const el = h(
    "div",
    { class: "ended" },
    h("h1", {}, message),
    h(
      "div",
      { class: "ended-actions" },
      onRejoin ? h("button", { type: "button", class: "ghost", id: "rejoin", onclick: onRejoin }, msg("ended.rejoin")) : null,
      h("button", { type: "button", class: "primary", id: "home", onclick: onHome }, msg("ended.home")),
    ),
  );
  return { el, dispose() {} };
}
