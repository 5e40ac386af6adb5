// The language picker: a labelled select on the home, pre-join and check
// pages and in the meeting's settings menu. Every picker on the page shows
// the language in use; a choice re-words the page without a reload.
import { currentLanguage, languageNames, languages, msg, onLanguageChange, setLanguage, type Lang } from "../i18n";
import { h, icon } from "./dom";

const pickers = new Set<WeakRef<HTMLSelectElement>>();

onLanguageChange((l) => {
  for (const ref of pickers) {
    const sel = ref.deref();
    if (sel) sel.value = l;
    else pickers.delete(ref);
  }
});

export function languagePicker(id: string, extraClass = ""): HTMLElement {
  const sel = h(
    "select",
    { id, class: "lang-select", "aria-label": msg("lang.label") },
    // Each name in its own language, marked so screen readers say it right.
    ...languages.map((l) => h("option", { value: l, lang: l }, languageNames[l])),
  );
  sel.value = currentLanguage();
  sel.addEventListener("change", () => void setLanguage(sel.value as Lang).catch((err) => console.warn("language", err)));
  pickers.add(new WeakRef(sel));
  return h("label", { class: `lang-picker ${extraClass}`.trim() }, icon("globe"), sel);
}
