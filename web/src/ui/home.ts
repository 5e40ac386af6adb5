// The home page: start a new meeting or join one by code or link.
import { newMeetingCode, parseMeetingInput } from "../meeting-code";
import { h, icon, type View } from "./dom";

export function homeView(navigate: (path: string) => void, notice = ""): View {
  const error = h("p", { class: "form-error", role: "alert", id: "join-error" }, notice);
  const input = h("input", {
    id: "join-code",
    type: "text",
    placeholder: "Enter a code or link",
    autocomplete: "off",
    spellcheck: "false",
    "aria-label": "Meeting code or link",
    "aria-describedby": "join-error",
  });
  const joinBtn = h("button", { type: "submit", class: "text-button", disabled: true }, "Join");
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
    "New meeting",
  );
  const el = h(
    "div",
    { class: "home" },
    h("header", { class: "home-header" }, h("span", { class: "brand" }, h("span", { class: "brand-mark" }, icon("cam")), "Huddle")),
    h(
      "main",
      { class: "home-main" },
      h("h1", {}, "Video meetings for your team, on your own server"),
      h("p", { class: "lead" }, "Up to 8 people, peer to peer, no account needed. Share the link and talk."),
      h("div", { class: "home-actions" }, newBtn, form),
      error,
      h("p", { class: "home-foot" }, h("a", { href: "/check" }, "Check your connection")),
    ),
  );
  return { el, dispose() {} };
}
