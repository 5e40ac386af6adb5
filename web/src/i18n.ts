// Every string of the interface comes from a catalogue (web/src/i18n/*.ts):
// English is built in, the other languages load on demand (dynamic import,
// so a visitor downloads one language, not five). The language follows the
// browser (navigator.languages) unless someone picked one in the app, which
// is remembered in localStorage.
//
// Messages are looked up by key. t(key, params) gives a string now; msg(key,
// params) is a message to be put into words later, which dom.ts uses to put
// text into the page that follows a change of language without a reload.
// Parameters fill {name} placeholders; a message whose catalogue entry is
// an object of plural forms picks the form for params.count with
// Intl.PluralRules (Arabic has six forms, English two). Numbers are written
// with Western digits in every language: ports, codes and times must read
// the same everywhere.
import en from "./i18n/en";

export type Key = keyof typeof en;

/** Plural forms of one message (CLDR categories); ordinal picks ordinal rules ("2nd"). */
export interface Plural {
  zero?: string;
  one?: string;
  two?: string;
  few?: string;
  many?: string;
  other: string;
  ordinal?: boolean;
}

/**
 * A catalogue has exactly English's keys: a missing or unknown key is a
 * type error in a translation, and a plural message stays plural.
 */
export type Catalogue = { [K in Key]: (typeof en)[K] extends string ? string : Plural };

export const languages = ["en", "de", "fr", "es", "ar"] as const;
export type Lang = (typeof languages)[number];

/** Each language's own name, shown in the picker whatever the language. */
export const languageNames: Record<Lang, string> = {
  en: "English",
  de: "Deutsch",
  fr: "Français",
  es: "Español",
  ar: "العربية",
};

const rtl: ReadonlySet<Lang> = new Set<Lang>(["ar"]);

export type Param = string | number | Msg;
export type Params = Record<string, Param>;

/** A message to be put into words in the current language when shown. */
export interface Msg {
  readonly key: Key;
  readonly params?: Params;
}

export function msg(key: Key, params?: Params): Msg {
  return params ? { key, params } : { key };
}

export function isMsg(x: unknown): x is Msg {
  return typeof x === "object" && x !== null && typeof (x as Msg).key === "string";
}

const loaders: Record<Exclude<Lang, "en">, () => Promise<{ default: Catalogue }>> = {
  de: () => import("./i18n/de"),
  fr: () => import("./i18n/fr"),
  es: () => import("./i18n/es"),
  ar: () => import("./i18n/ar"),
};

let lang: Lang = "en";
let catalogue: Catalogue = en;
const listeners = new Set<(l: Lang) => void>();
const storageKey = "huddle.lang";

export function currentLanguage(): Lang {
  return lang;
}

/** t puts a message into words in the current language. */
export function t(key: Key, params?: Params): string {
  return format(catalogue, lang, key, params);
}

/** text is t for a message made with msg(); plain strings pass through. */
export function text(m: Msg | string): string {
  return typeof m === "string" ? m : format(catalogue, lang, m.key, m.params);
}

/** format is t with an explicit catalogue (tests use it on every language). */
export function format(cat: Catalogue, l: string, key: Key, params?: Params): string {
  const entry: string | Plural = cat[key] ?? en[key];
  let s: string;
  if (typeof entry === "string") s = entry;
  else {
    const n = Number(params?.count ?? 0);
    const form = new Intl.PluralRules(l, { type: entry.ordinal ? "ordinal" : "cardinal" }).select(n);
    s = entry[form] ?? entry.other;
  }
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = params[name];
    if (v === undefined) return whole;
    return typeof v === "object" ? format(cat, l, v.key, v.params) : String(v);
  });
}

/**
 * detectLanguage picks the saved choice if any, else the first of the
 * browser's languages we have ("de-AT" is German), else English.
 */
export function detectLanguage(browser: readonly string[], saved: string | null): Lang {
  if (saved && (languages as readonly string[]).includes(saved)) return saved as Lang;
  for (const tag of browser) {
    const base = tag.toLowerCase().split("-")[0];
    if ((languages as readonly string[]).includes(base)) return base as Lang;
  }
  return "en";
}

export async function loadCatalogue(l: Lang): Promise<Catalogue> {
  return l === "en" ? en : (await loaders[l]()).default;
}

/**
 * setLanguage switches the interface: loads the catalogue, sets lang and
 * dir on <html> and tells the listeners (dom.ts re-words the page).
 * remember saves the choice for the next visit.
 */
export async function setLanguage(l: Lang, remember = true): Promise<void> {
  const cat = await loadCatalogue(l);
  lang = l;
  catalogue = cat;
  if (typeof document !== "undefined") {
    document.documentElement.lang = l;
    document.documentElement.dir = rtl.has(l) ? "rtl" : "ltr";
  }
  if (remember) {
    try {
      localStorage.setItem(storageKey, l);
    } catch {
      // Private mode: the choice lasts for this page only.
    }
  }
  for (const fn of listeners) fn(l);
}

/** initLanguage chooses the language at start-up; English if a catalogue cannot load. */
export async function initLanguage(): Promise<void> {
  let saved: string | null = null;
  try {
    saved = localStorage.getItem(storageKey);
  } catch {
    // No storage: follow the browser.
  }
  const l = detectLanguage(navigator.languages ?? [navigator.language], saved);
  try {
    await setLanguage(l, false);
  } catch (err) {
    console.warn("language", l, err);
    await setLanguage("en", false);
  }
}

export function onLanguageChange(fn: (l: Lang) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
