import { describe, expect, it } from "vitest";
import { measureViews, sameViews } from "./views";

// A fake grid: measureViews only reads dataset and getBoundingClientRect.
function grid(tiles: { id: string; self?: boolean; top: number; height: number }[]): ParentNode {
  const els = tiles.map((t) => ({
    dataset: { peerId: t.id, self: t.self ? "true" : "false" },
    getBoundingClientRect: () => ({ top: t.top, bottom: t.top + t.height, left: 0, right: 320, width: 320, height: t.height }),
  }));
  return { querySelectorAll: () => els } as unknown as ParentNode;
}

describe("views", () => {
  const viewport = { width: 1280, height: 720 };

  it("reports each remote tile's height in device pixels, and 0 when off screen", () => {
    const root = grid([
      { id: "me", self: true, top: 0, height: 180 },
      { id: "a", top: 0, height: 180 },
      { id: "b", top: 200, height: 360 },
      { id: "c", top: 900, height: 180 }, // scrolled off
    ]);
    expect(measureViews(root, false, viewport, 2)).toEqual([
      { id: "a", height: 360 },
      { id: "b", height: 720 },
      { id: "c", height: 0 },
    ]);
  });

  it("reports every tile as unseen while the tab is hidden", () => {
    const root = grid([{ id: "a", top: 0, height: 180 }]);
    expect(measureViews(root, true, viewport, 1)).toEqual([{ id: "a", height: 0 }]);
  });

  it("compares reports in any order", () => {
    expect(sameViews([{ id: "a", height: 1 }, { id: "b", height: 2 }], [{ id: "b", height: 2 }, { id: "a", height: 1 }])).toBe(true);
    expect(sameViews([{ id: "a", height: 1 }], [{ id: "a", height: 2 }])).toBe(false);
    expect(sameViews([{ id: "a", height: 1 }], [])).toBe(false);
  });
});
