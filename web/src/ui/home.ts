// The home page: start a new meeting or join one by code or link.
import { newMeetingCode, parseMeetingInput } from "../meeting-code";
import { msg, type Msg } from "../i18n";
import { h, icon, type View } from "./dom";
import { languagePicker } from "./language";

export function homeView(navigate: (path: string) => void, notice: Msg | null = null): View {
  const error = h("p", { class: "form-error", role: "alert", id: "join-error" }, notice);
  const input = h("input", {
    id: "join-code",
    type: "text",
    placeholder: msg("home.codePlaceholder"),
    autocomplete: "off",
    spellcheck: "false",
    "aria-label": msg("home.codeLabel"),
    "aria-describedby": "join-error",
  });
  const joinBtn = h("button", { type: "submit", class: "text-button", disabled: true }, msg("home.join"));
  input.addEventListener("input", () => {
    joinBtn.disabled = input.value.trim() === "";
    error.textContent = "";
  });
  const form = h(
    "form",
    {
      class: "join-form",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const r = parseMeetingInput(input.value);
        if (!r.ok) {
          error.textContent = r.error;
          input.setAttribute("aria-invalid", "true");
          input.focus();
          return;
        }
        navigate(`/${r.code}`);
      },
    },
    input,
    joinBtn,
  );
  const newBtn = h(
    "button",
    { class: "primary", type: "button", id: "new-meeting", onclick: () => navigate(`/${newMeetingCode()}`) },
    icon("plus"),
    msg("home.newMeeting"),
  );
  const el = h(
    "div",
    { class: "home" },
    h("header", { class: "home-header" }, h("span", { class: "brand" }, h("span", { class: "brand-mark" }, icon("cam")), msg("app.name")), languagePicker("lang-home")),
    h(
      "main",
      { class: "home-main" },
      h("h1", {}, msg("home.headline")),
      h("p", { class: "lead" }, msg("home.lead")),
      h("div", { class: "home-actions" }, newBtn, form),
      error,
      h("p", { class: "home-foot" }, h("a", { href: "/check" }, msg("home.checkConnection"))),
    ),
  );
  return { el, dispose() {} };
}
