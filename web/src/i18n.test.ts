import { describe, expect, it } from "vitest";
import { detectLanguage, format, languages, loadCatalogue, msg, type Catalogue, type Key, type Plural } from "./i18n";
import en from "./i18n/en";

const forms = (v: string | Plural): [string, string][] =>
  typeof v === "string" ? [["text", v]] : (Object.entries(v).filter(([k]) => k !== "ordinal") as [string, string][]);
const params = (s: string) => new Set([...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]));

describe("catalogues", () => {
  const keys = Object.keys(en).sort();
  for (const lang of languages) {
    describe(lang, () => {
      it("has exactly the keys of English", async () => {
        const cat = await loadCatalogue(lang);
        expect(Object.keys(cat).sort()).toEqual(keys);
      });
      it("has no empty message, and plural forms its language has", async () => {
        const cat = await loadCatalogue(lang);
        for (const key of keys as Key[]) {
          const v = cat[key];
          expect(typeof v === "string" || typeof en[key] !== "string", `${lang} ${key} plural as in English`).toBe(true);
          for (const [form, s] of forms(v)) expect(s.trim(), `${lang} ${key} ${form}`).not.toBe("");
          if (typeof v !== "string") {
            expect(v.other, `${lang} ${key} other`).toBeTruthy();
            const cats = new Intl.PluralRules(lang, { type: v.ordinal ? "ordinal" : "cardinal" }).resolvedOptions().pluralCategories;
            for (const [form] of forms(v)) expect(cats, `${lang} ${key}: ${form}`).toContain(form);
          }
        }
      });
      it("uses the placeholders of English, no others", async () => {
        const cat = await loadCatalogue(lang);
        for (const key of keys as Key[]) {
          const want = new Set(forms(en[key]).flatMap(([, s]) => [...params(s)]));
          const v = cat[key];
          // The general form carries every placeholder; a form for one
          // exact number (Arabic "one", "two") may spell the number out.
          const general = typeof v === "string" ? v : v.other;
          expect([...params(general)].sort(), `${lang} ${key}`).toEqual([...want].sort());
          for (const [form, s] of forms(v)) for (const p of params(s)) expect(want.has(p), `${lang} ${key} ${form}: {${p}}`).toBe(true);
        }
      });
    });
  }
});

describe("format", () => {
  it("fills placeholders, nested messages too", () => {
    expect(format(en, "en", "notice.joined", { name: "Ada" })).toBe("Ada joined");
    expect(format(en, "en", "control.withShortcut", { label: msg("hand.raise"), keys: "Ctrl+Alt+H" })).toBe("Raise hand (Ctrl+Alt+H)");
  });
  it("picks plural forms by language", async () => {
    expect(format(en, "en", "error.tooManyAttemptsSeconds", { count: 1 })).toBe("Too many wrong passwords. Try again in 1 second.");
    expect(format(en, "en", "error.tooManyAttemptsSeconds", { count: 30 })).toBe("Too many wrong passwords. Try again in 30 seconds.");
    const ar = (await loadCatalogue("ar")) as Catalogue;
    expect(format(ar, "ar", "error.tooManyAttemptsMinutes", { count: 2 })).toContain("دقيقتين");
    expect(format(ar, "ar", "error.tooManyAttemptsMinutes", { count: 5 })).toContain("5 دقائق");
    expect(format(ar, "ar", "error.tooManyAttemptsMinutes", { count: 15 })).toContain("15 دقيقة");
  });
  it("uses ordinal rules where the message asks for them", () => {
    expect(format(en, "en", "tile.handInLine", { count: 2 })).toBe("Hand raised, 2nd in line");
    expect(format(en, "en", "tile.handInLine", { count: 13 })).toBe("Hand raised, 13th in line");
    expect(format(en, "en", "tile.handInLine", { count: 23 })).toBe("Hand raised, 23rd in line");
  });
});

describe("detectLanguage", () => {
  it("follows the browser, region or not, then English", () => {
    expect(detectLanguage(["de-AT", "en"], null)).toBe("de");
    expect(detectLanguage(["it-IT", "fr-CA"], null)).toBe("fr");
    expect(detectLanguage(["ar-EG"], null)).toBe("ar");
    expect(detectLanguage(["ja-JP"], null)).toBe("en");
    expect(detectLanguage([], null)).toBe("en");
  });
  it("prefers the saved choice, when it is one we have", () => {
    expect(detectLanguage(["de-DE"], "es")).toBe("es");
    expect(detectLanguage(["de-DE"], "xx")).toBe("de");
  });
});
