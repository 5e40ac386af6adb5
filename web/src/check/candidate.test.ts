import { describe, expect, test } from "vitest";
import { isMdnsName, parseCandidate } from "./candidate";

describe("parseCandidate", () => {
  test("reads a relay candidate as Chromium writes it", () => {
    const line = "candidate:4221617218 1 udp 58597375 127.0.0.1 58343 typ relay raddr 0.0.0.0 rport 0 generation 0 ufrag ihVt network-id 3";
    expect(parseCandidate(line)).toEqual({ type: "relay", protocol: "udp", address: "127.0.0.1", port: 58343 });
  });

  test("reads host candidates with mDNS names and the a= prefix", () => {
    const c = parseCandidate("a=candidate:1 1 UDP 2122260223 0f3c9a7e-1c2d-4b1e-9d1e-7f1f3a0c2b11.local 54321 typ host");
    expect(c).toEqual({ type: "host", protocol: "udp", address: "0f3c9a7e-1c2d-4b1e-9d1e-7f1f3a0c2b11.local", port: 54321 });
    expect(isMdnsName(c!.address)).toBe(true);
    expect(isMdnsName("192.168.1.20")).toBe(false);
  });

  test("refuses malformed lines", () => {
    for (const bad of ["", "candidate:1 1 udp", "candidate:1 1 udp 1 1.2.3.4 70000 typ host", "foo:1 1 udp 1 1.2.3.4 5 typ host", "candidate:1 1 udp 1 1.2.3.4 5 type host"]) {
      expect(parseCandidate(bad), bad).toBeNull();
    }
  });
});
