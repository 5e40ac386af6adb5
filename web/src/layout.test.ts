import { describe, expect, it } from "vitest";
import { arrange, bestGrid, defaultPrefs, loadPrefs, paginate, savePrefs, SpeakerTracker, type LayoutInput } from "./layout";

const base: LayoutInput = { ids: ["me", "a", "b"], selfId: "me", prefs: defaultPrefs, pinned: "", presenters: [], speaker: "" };

describe("arrange", () => {
  it("is a grid by default", () => {
    expect(arrange(base)).toEqual({ stage: "", why: "", rest: ["me", "a", "b"], hidden: [] });
  });
  it("puts the newest presenter on the stage", () => {
    expect(arrange({ ...base, presenters: ["a", "b"] })).toMatchObject({ stage: "b", why: "presenting", rest: ["me", "a"] });
    expect(arrange({ ...base, presenters: ["b", "gone"] }).stage).toBe("b");
  });
  it("lets a pin win over a presenter", () => {
    expect(arrange({ ...base, presenters: ["b"], pinned: "a" })).toMatchObject({ stage: "a", why: "pinned" });
    expect(arrange({ ...base, pinned: "left-already" }).stage).toBe("");
  });
  it("puts the host's spotlight on the stage, over presenters but under one's own pin", () => {
    expect(arrange({ ...base, spotlight: "a", presenters: ["b"] })).toMatchObject({ stage: "a", why: "spotlight", rest: ["me", "b"] });
    expect(arrange({ ...base, spotlight: "a", pinned: "b" })).toMatchObject({ stage: "b", why: "pinned" });
    expect(arrange({ ...base, spotlight: "gone" }).stage).toBe("");
  });
  it("shows the active speaker in speaker view, never ourselves", () => {
    const speaker = { ...base, prefs: { mode: "speaker" as const, hideSelf: false } };
    expect(arrange({ ...speaker, speaker: "b" })).toMatchObject({ stage: "b", why: "speaker", rest: ["me", "a"] });
    expect(arrange({ ...speaker, speaker: "me" }).stage).toBe("a");
    expect(arrange({ ...speaker, speaker: "" }).stage).toBe("a");
    expect(arrange({ ...speaker, ids: ["me"], speaker: "" }).stage).toBe("");
  });
  it("hides our own tile, unless we are alone or pinned", () => {
    const hide = { ...base, prefs: { mode: "auto" as const, hideSelf: true } };
    expect(arrange(hide)).toMatchObject({ rest: ["a", "b"], hidden: ["me"] });
    expect(arrange({ ...hide, ids: ["me"] })).toMatchObject({ rest: ["me"], hidden: [] });
    expect(arrange({ ...hide, pinned: "me" })).toMatchObject({ stage: "me", hidden: [] });
  });
});

describe("paginate", () => {
  const ids = Array.from({ length: 60 }, (_, i) => `p${i}`);
  it("splits the tiles into pages of 25", () => {
    expect(paginate(ids, 0, "")).toMatchObject({ page: 0, pages: 3 });
    expect(paginate(ids, 0, "").shown).toEqual(ids.slice(0, 25));
    expect(paginate(ids, 2, "").shown).toEqual(ids.slice(50));
    expect(paginate(ids, 9, "")).toMatchObject({ page: 2 });
    expect(paginate(ids, -1, "")).toMatchObject({ page: 0 });
    expect(paginate(["a"], 0, "")).toEqual({ shown: ["a"], page: 0, pages: 1 });
  });
  it("keeps the active speaker on the first page", () => {
    const first = paginate(ids, 0, "p40").shown;
    expect(first).toHaveLength(25);
    expect(first[24]).toBe("p40");
    expect(first.slice(0, 24)).toEqual(ids.slice(0, 24));
    // The one it displaced takes its slot on the later page.
    expect(paginate(ids, 1, "p40").shown).toContain("p24");
    expect(paginate(ids, 1, "p40").shown).not.toContain("p40");
    expect(paginate(ids, 0, "p3").shown).toEqual(ids.slice(0, 25));
  });
});

describe("bestGrid", () => {
  it("fits a row in a wide window and a column on a phone", () => {
    expect(bestGrid(2, 1200, 500)).toMatchObject({ cols: 2, rows: 1 });
    expect(bestGrid(2, 370, 600)).toMatchObject({ cols: 1, rows: 2 });
    expect(bestGrid(4, 1200, 700)).toMatchObject({ cols: 2, rows: 2 });
    expect(bestGrid(3, 370, 640)).toMatchObject({ cols: 1, rows: 3 });
  });
  it("never makes tiles wider than the box", () => {
    for (const n of [1, 2, 5, 9, 16]) {
      const g = bestGrid(n, 800, 450);
      expect(g.cols * g.rows).toBeGreaterThanOrEqual(n);
      expect(g.tileWidth * g.cols).toBeLessThanOrEqual(800);
    }
  });
});

describe("prefs", () => {
  it("round-trips and survives junk", () => {
    const m = new Map<string, string>();
    const store = { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
    expect(loadPrefs(store)).toEqual(defaultPrefs);
    savePrefs(store, { mode: "speaker", hideSelf: true });
    expect(loadPrefs(store)).toEqual({ mode: "speaker", hideSelf: true });
    m.set("huddle.layout", "{not json");
    expect(loadPrefs(store)).toEqual(defaultPrefs);
    m.set("huddle.layout", '{"mode":"evil","hideSelf":"yes"}');
    expect(loadPrefs(store)).toEqual(defaultPrefs);
  });
});

describe("SpeakerTracker", () => {
  it("takes the first speaker at once and a new one only after the hold", () => {
    const t = new SpeakerTracker(1000);
    expect(t.update("a", 0)).toBe("a");
    expect(t.update("b", 100)).toBe("a");
    expect(t.update("", 200)).toBe("a");
    expect(t.update("b", 300)).toBe("a");
    expect(t.update("b", 1200)).toBe("a");
    expect(t.update("b", 1300)).toBe("b");
  });
});
