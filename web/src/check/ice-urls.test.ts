import { describe, expect, test } from "vitest";
import { parseIceUrl, planFrom, portOf } from "./ice-urls";

describe("parseIceUrl", () => {
  test("reads scheme, host, port and transport", () => {
    expect(parseIceUrl("turn:relay.example.com:3478?transport=tcp")).toEqual({ scheme: "turn", host: "relay.example.com", port: 3478, transport: "tcp" });
    expect(parseIceUrl("turn:10.0.0.1:3478")).toEqual({ scheme: "turn", host: "10.0.0.1", port: 3478, transport: "udp" });
    expect(parseIceUrl("turns:[2001:db8::1]:5349?transport=tcp")).toEqual({ scheme: "turns", host: "[2001:db8::1]", port: 5349, transport: "tcp" });
  });

  test("fills in the default ports", () => {
    expect(parseIceUrl("stun:stun.example.com")?.port).toBe(3478);
    expect(parseIceUrl("turns:relay.example.com")?.port).toBe(5349);
  });

  test("refuses what is not an ICE URL", () => {
    for (const bad of ["", "http://example.com", "turn:", "turn:host:99999", "turn:host:3478?transport=sctp", "turn:a b:1"]) {
      expect(parseIceUrl(bad), bad).toBeNull();
    }
    expect(portOf("nonsense")).toBe(0);
  });
});

describe("planFrom", () => {
  const ack = [
    { urls: ["stun:127.0.0.1:3478"] },
    {
      urls: ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp", "turns:127.0.0.1:5349?transport=tcp"],
      username: "1763715600:id",
      credential: "secret",
    },
  ];

  test("one server per kind, each with only its URL and the credentials", () => {
    const plan = planFrom(ack);
    expect(plan.stun).toEqual({ url: "stun:127.0.0.1:3478", port: 3478, server: { urls: ["stun:127.0.0.1:3478"] } });
    expect(plan.relays.udp?.server).toEqual({ urls: ["turn:127.0.0.1:3478?transport=udp"], username: "1763715600:id", credential: "secret" });
    expect(plan.relays.tcp?.server.urls).toEqual(["turn:127.0.0.1:3478?transport=tcp"]);
    expect(plan.relays.tls?.port).toBe(5349);
  });

  test("the first URL of a kind wins; a string urls works", () => {
    const plan = planFrom([{ urls: "turn:a.example:1000", username: "u", credential: "c" }, { urls: ["turn:b.example:2000?transport=udp"] }]);
    expect(plan.relays.udp?.url).toBe("turn:a.example:1000");
    expect(plan.relays.tcp).toBeNull();
    expect(plan.stun).toBeNull();
  });

  test("no servers, no plan", () => {
    expect(planFrom([])).toEqual({ stun: null, relays: { udp: null, tcp: null, tls: null } });
  });
});
