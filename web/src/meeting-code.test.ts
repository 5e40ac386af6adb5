import { describe, expect, it, vi } from "vitest";
import { isMeetingCode, isRoomId, newMeetingCode, parseMeetingInput } from "./meeting-code";

describe("newMeetingCode", () => {
  it("has the abc-defg-hij shape", () => {
    for (let i = 0; i < 200; i++) expect(newMeetingCode()).toMatch(/^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
  });

  it("draws from crypto.getRandomValues", () => {
    const spy = vi.spyOn(globalThis.crypto, "getRandomValues");
    newMeetingCode();
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
  });

  it("maps bytes to letters and skips biased bytes", () => {
    // 0 -> a, 1 -> b, 255 is above the unbiased limit and must be skipped.
    const bytes = [255, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const fill = (b: Uint8Array) => {
      b.fill(0);
      bytes.forEach((v, i) => (b[i] = v));
      return b;
    };
    expect(newMeetingCode(fill)).toBe("abc-defg-hij");
  });

  it("does not repeat", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(newMeetingCode());
    expect(seen.size).toBe(2000);
  });

  it("uses every letter", () => {
    const seen = new Set(Array.from({ length: 300 }, () => newMeetingCode().replace(/-/g, "")).join(""));
    expect(seen.size).toBe(26);
  });
});

describe("parseMeetingInput", () => {
  it.each([
    ["abc-defg-hij", "abc-defg-hij"],
    ["  ABC-DEFG-HIJ ", "abc-defg-hij"],
    ["abcdefghij", "abc-defg-hij"],
    ["abc defg hij", "abc-defg-hij"],
    ["https://meet.example.com/abc-defg-hij", "abc-defg-hij"],
    ["http://127.0.0.1:8080/abc-defg-hij?x=1#y", "abc-defg-hij"],
    ["meet.example.com/abc-defg-hij", "abc-defg-hij"],
  ])("accepts %j", (input, want) => {
    expect(parseMeetingInput(input)).toEqual({ ok: true, code: want });
  });

  it.each(["", "   ", "abc-defg-hi", "abc-defg-hijk", "abc-d3fg-hij", "https://x.com/a/abc-defg-hij", "https://x.com/", "<script>"])(
    "rejects %j with a message",
    (input) => {
      const r = parseMeetingInput(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.length).toBeGreaterThan(5);
    },
  );
});

describe("validators", () => {
  it("isMeetingCode", () => {
    expect(isMeetingCode("abc-defg-hij")).toBe(true);
    expect(isMeetingCode("abcdefghij")).toBe(false);
  });
  it("isRoomId follows the server rule", () => {
    expect(isRoomId("0f8fad5b-d9cb-469f-a165-70867728950e")).toBe(true);
    expect(isRoomId("a".repeat(64))).toBe(true);
    expect(isRoomId("a".repeat(65))).toBe(false);
    expect(isRoomId("")).toBe(false);
    expect(isRoomId("a b")).toBe(false);
    expect(isRoomId("check.html")).toBe(false);
  });
});
