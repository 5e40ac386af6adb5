import { describe, expect, it } from "vitest";
import { refreshDelay } from "./meeting";
import { gridFor, pickMimeType } from "./recorder";

describe("refreshDelay", () => {
  const now = 1_700_000_000_000;
  it("refreshes at 80% of the credential lifetime", () => {
    const expiry = now / 1000 + 3600;
    expect(refreshDelay([{ urls: "turn:x", username: `${expiry}:abc`, credential: "c" }], now)).toBe(3600 * 1000 * 0.8);
  });
  it("uses the earliest expiry", () => {
    const servers = [
      { urls: "turn:a", username: `${now / 1000 + 3600}:p` },
      { urls: "turn:b", username: `${now / 1000 + 600}:p` },
    ];
    expect(refreshDelay(servers, now)).toBe(600 * 1000 * 0.8);
  });
  it("needs no refresh without REST credentials", () => {
    expect(refreshDelay([{ urls: "stun:x" }], now)).toBeNull();
    expect(refreshDelay([{ urls: "turn:x", username: "alice" }], now)).toBeNull();
  });
  it("never spins on expired credentials", () => {
    expect(refreshDelay([{ urls: "turn:x", username: `${now / 1000 - 10}:p` }], now)).toBe(10_000);
  });
});

describe("recorder layout", () => {
  it("fits 1-8 tiles", () => {
    for (let n = 1; n <= 8; n++) {
      const { cols, rows } = gridFor(n);
      expect(cols * rows).toBeGreaterThanOrEqual(n);
      expect(cols * (rows - 1)).toBeLessThan(n); // no empty row
    }
  });
  it("prefers VP8+Opus WebM", () => {
    expect(pickMimeType(() => true)).toBe("video/webm;codecs=vp8,opus");
    expect(pickMimeType((t) => t === "video/webm")).toBe("video/webm");
    expect(pickMimeType(() => false)).toBe("");
  });
});
