import { describe, expect, it } from "vitest";
import { isolate, isolatedParts, plainText } from "./text";

describe("isolate", () => {
  it("wraps user text in first-strong isolate and pop directional isolate", () => {
    expect(isolate("Ada")).toBe("\u2068Ada\u2069");
  });
  it("keeps a right-to-left override inside the name", () => {
    const notice = `${isolate("Ada\u202Eexe.txt")} joined`;
    // The override is closed by the PDI before " joined": the UBA ends
    // every embedding and override at the isolate's end.
    expect(notice.indexOf("\u2069")).toBeLessThan(notice.indexOf(" joined"));
    expect(notice.startsWith("\u2068")).toBe(true);
  });
});

describe("isolatedParts", () => {
  it("splits a notice into plain and isolated runs", () => {
    expect(isolatedParts(`${isolate("Bob")} left`)).toEqual([
      { text: "Bob", isolated: true },
      { text: " left", isolated: false },
    ]);
    expect(isolatedParts(`Ask ${isolate("עדה")} to mute`)).toEqual([
      { text: "Ask ", isolated: false },
      { text: "עדה", isolated: true },
      { text: " to mute", isolated: false },
    ]);
  });
  it("leaves text without marks, or with a lone mark, as it is", () => {
    expect(isolatedParts("Reconnected.")).toEqual([{ text: "Reconnected.", isolated: false }]);
    expect(isolatedParts("a\u2068b")).toEqual([{ text: "a\u2068b", isolated: false }]);
    expect(isolatedParts("")).toEqual([]);
  });
  it("gives screen readers the text without marks", () => {
    expect(plainText(`${isolate("Bob")} left`)).toBe("Bob left");
  });
});
