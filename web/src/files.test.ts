import { describe, expect, it } from "vitest";
import { fileErrorMessage, filesUrl, humanSize } from "./files";

describe("humanSize", () => {
  it("reads as people count bytes", () => {
    expect(humanSize(0, "en")).toBe("0 bytes");
    expect(humanSize(999, "en")).toBe("999 bytes");
    expect(humanSize(1500, "en")).toBe("1.5 kB");
    expect(humanSize(25_000_000, "en")).toBe("25 MB");
    expect(humanSize(2_345_678, "en")).toBe("2.3 MB");
    expect(humanSize(123_456_789, "en")).toBe("123 MB");
    expect(humanSize(3e9, "en")).toBe("3 GB");
  });
  it("follows the language", () => {
    expect(humanSize(2_500_000, "de")).toBe("2,5 MB");
  });
});

describe("fileErrorMessage", () => {
  it("says why, with the limit for a file too large", () => {
    const m = fileErrorMessage("file-too-large", "big.iso", 25_000_000, false, "en");
    expect(m.key).toBe("files.tooLarge");
    expect(m.params?.max).toBe("25 MB");
    expect(String(m.params?.name)).toContain("big.iso");
    expect(fileErrorMessage("too-many-files", "a", 1).key).toBe("files.tooMany");
    expect(fileErrorMessage("rate-limited", "a", 1).key).toBe("files.rateLimited");
    expect(fileErrorMessage("not-member", "a", 1).key).toBe("files.notMember");
    expect(fileErrorMessage("not-found", "a", 1, true).key).toBe("files.gone");
    expect(fileErrorMessage("network", "a", 1).key).toBe("files.failed");
    expect(fileErrorMessage("network", "a", 1, true).key).toBe("files.downloadFailed");
  });
});

describe("filesUrl", () => {
  it("keeps room and id inside their path elements", () => {
    expect(filesUrl("https://m.example", "abc-defg-hij")).toBe("https://m.example/files/abc-defg-hij");
    expect(filesUrl("https://m.example", "a/../b", "x?y")).toBe("https://m.example/files/a%2F..%2Fb/x%3Fy");
  });
});
