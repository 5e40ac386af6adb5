import { describe, expect, test } from "vitest";
import type { CheckResults, GatherProbe, RoundTripProbe } from "./results";
import { median, rows, summarize, type Row } from "./verdict";

const servers: RTCIceServer[] = [
  { urls: ["stun:relay.example:3478"] },
  { urls: ["turn:relay.example:3478?transport=udp", "turn:relay.example:3478?transport=tcp"], username: "u", credential: "c" },
];

function gathered(url: string, types: string[], extra: Partial<GatherProbe> = {}): GatherProbe {
  return {
    url,
    candidates: types.map((type, i) => ({ type, protocol: "udp", address: type === "host" ? "abc.local" : "203.0.113.7", port: 50000 + i })),
    errors: [],
    timedOut: false,
    ms: 42,
    failure: "",
    ...extra,
  };
}

const echoed: RoundTripProbe = { ok: true, sent: 5, received: 5, rttMs: [12, 10, 30, 11, 14], localType: "relay", remoteType: "relay", relayProtocol: "udp", error: "" };

/** allGood is a network where everything works and no TLS relay exists. */
function allGood(): CheckResults {
  return {
    signaling: { websocket: true, polling: null, error: "" },
    servers: { ok: true, error: "", servers, policy: "all" },
    host: gathered("", ["host", "host"]),
    srflx: gathered(servers[0].urls[0], ["host", "srflx"]),
    relay: {
      udp: gathered("turn:relay.example:3478?transport=udp", ["relay"]),
      tcp: gathered("turn:relay.example:3478?transport=tcp", ["relay"]),
      tls: null,
    },
    roundTrip: echoed,
  };
}

function byId(rs: Row[]): Record<string, Row> {
  return Object.fromEntries(rs.map((r) => [r.id, r]));
}

describe("rows", () => {
  test("everything working passes, TLS absent is info", () => {
    const r = byId(rows(allGood()));
    for (const id of ["signaling", "servers", "host", "srflx", "relay-udp", "relay-tcp", "media"]) expect(r[id].status, id).toBe("pass");
    expect(r["relay-tls"]).toMatchObject({ status: "info", label: "Not configured" });
    expect(r["relay-tls"].detail).toMatch(/No TLS relay configured/);
    expect(r.media.detail).toMatch(/5 of 5 messages came back through the relay over UDP; round trip 12 ms/);
    expect(r.media.detail).toMatch(/relay to relay/);
    expect(r.host.detail).toMatch(/2 local addresses.*\.local names/);
    expect(r.srflx.detail).toMatch(/203\.0\.113\.7/);
    expect(r["relay-udp"].detail).toMatch(/port 3478/);
  });

  test("every status is also written in words", () => {
    for (const row of rows(allGood())) expect(row.label.length, row.id).toBeGreaterThan(0);
  });

  test("steps not run yet wait; the current one is running", () => {
    const r = rows({ relay: {}, signaling: { websocket: true, polling: null, error: "" } }, "servers");
    expect(r.map((x) => x.status)).toEqual(["pass", "running", "waiting", "waiting", "waiting", "waiting", "waiting", "waiting"]);
  });

  test("WebSocket blocked but polling works warns with the fallback", () => {
    const res = allGood();
    res.signaling = { websocket: false, polling: true, error: "websocket error" };
    const r = byId(rows(res));
    expect(r.signaling.status).toBe("warn");
    expect(r.signaling.detail).toMatch(/WebSockets to this server are blocked; the app will fall back to slower long-polling/);
  });

  test("no public address is normal and explained", () => {
    const res = allGood();
    res.srflx = gathered("stun:relay.example:3478", ["host"]);
    const r = byId(rows(res));
    expect(r.srflx.status).toBe("info");
    expect(r.srflx.detail).toMatch(/no public address seen: you're on the same network as the server, or UDP is blocked/i);
  });

  test("UDP blocked with TCP working names the port and the fallback", () => {
    const res = allGood();
    res.relay.udp = gathered("turn:relay.example:3478?transport=udp", ["host"], { timedOut: true, ms: 5000 });
    const r = byId(rows(res));
    expect(r["relay-udp"].status).toBe("fail");
    expect(r["relay-udp"].detail).toBe("UDP to port 3478 is blocked; calls will use TCP relay.");
  });

  test("TCP and TLS failures name their ports", () => {
    const res = allGood();
    res.relay.tcp = gathered("turn:relay.example:3478?transport=tcp", [], { timedOut: true });
    res.relay.tls = gathered("turns:relay.example:5349?transport=tcp", [], { timedOut: true });
    const r = byId(rows(res));
    expect(r["relay-tcp"].detail).toBe("TURN over TCP failed: port 3478/TCP is blocked.");
    expect(r["relay-tls"].status).toBe("fail");
    expect(r["relay-tls"].detail).toMatch(/port 5349\/TCP is blocked/);
  });

  test("a refused credential is told apart from a blocked port", () => {
    const res = allGood();
    res.relay.udp = gathered("turn:relay.example:3478?transport=udp", [], { errors: [{ code: 401, text: "Unauthorized" }] });
    expect(byId(rows(res))["relay-udp"].detail).toMatch(/refused the credentials \(401\)/);
  });

  test("a server without relay: relay rows not available, media not tried", () => {
    const res = allGood();
    res.servers = { ok: true, error: "", servers: [], policy: "all" };
    res.srflx = null;
    res.relay = { udp: null, tcp: null, tls: null };
    res.roundTrip = null;
    const r = byId(rows(res));
    expect(r.servers.status).toBe("warn");
    for (const id of ["relay-udp", "relay-tcp"]) {
      expect(r[id]).toMatchObject({ status: "fail", label: "Not available" });
      expect(r[id].detail).toMatch(/offers no relay/);
    }
    expect(r.media).toMatchObject({ status: "fail", label: "Not available" });
    expect(r.media.detail).toMatch(/has no relay/);
  });

  test("without ICE servers the network rows are not tested rather than failed", () => {
    const res: CheckResults = {
      signaling: { websocket: false, polling: false, error: "xhr poll error" },
      servers: { ok: false, error: "no connection to the server", servers: [], policy: "all" },
      host: gathered("", ["host"]),
      srflx: null,
      relay: { udp: null, tcp: null, tls: null },
      roundTrip: null,
    };
    const r = byId(rows(res));
    expect(r.signaling.status).toBe("fail");
    expect(r.signaling.detail).toMatch(/xhr poll error/);
    expect(r.servers.status).toBe("fail");
    for (const id of ["srflx", "relay-udp", "relay-tcp", "relay-tls", "media"]) expect(r[id].label, id).toBe("Not tested");
  });

  test("a failed round trip says how many came back and why", () => {
    const res = allGood();
    res.roundTrip = { ...echoed, ok: false, sent: 3, received: 2, error: "Ping 3 did not come back." };
    const r = byId(rows(res));
    expect(r.media.status).toBe("fail");
    expect(r.media.detail).toMatch(/\(2 of 3\)\. Ping 3 did not come back\./);
  });
});

describe("summarize", () => {
  test("running until finished", () => {
    expect(summarize(allGood(), false).level).toBe("running");
  });

  test("ready when everything works", () => {
    expect(summarize(allGood(), true)).toEqual({ level: "ready", text: "Your network is ready for calls." });
  });

  test("no relay on the server warns", () => {
    const res = allGood();
    res.servers!.servers = [];
    res.relay = { udp: null, tcp: null, tls: null };
    res.roundTrip = null;
    const s = summarize(res, true);
    expect(s.level).toBe("warn");
    expect(s.text).toMatch(/^Calls will work, but this server has no relay/);
  });

  test("UDP blocked and polling fallback are both mentioned", () => {
    const res = allGood();
    res.signaling = { websocket: false, polling: true, error: "" };
    res.relay.udp = gathered("turn:relay.example:3478?transport=udp", [], { timedOut: true });
    const s = summarize(res, true);
    expect(s.level).toBe("warn");
    expect(s.text).toMatch(/long-polling; UDP is blocked/);
  });

  test("every relay blocked means calls may fail", () => {
    const res = allGood();
    res.relay.udp = gathered("turn:relay.example:3478?transport=udp", [], { timedOut: true });
    res.relay.tcp = gathered("turn:relay.example:3478?transport=tcp", [], { timedOut: true });
    res.roundTrip = null;
    const s = summarize(res, true);
    expect(s.level).toBe("fail");
    expect(s.text).toMatch(/^Calls may fail: the relay cannot be reached/);
  });

  test("server unreachable, relay-only server without relay, broken media", () => {
    expect(summarize({ relay: {}, signaling: { websocket: false, polling: false, error: "" } }, true).text).toMatch(/cannot reach the meeting server/);

    const forced = allGood();
    forced.servers = { ok: true, error: "", servers: [], policy: "relay" };
    forced.relay = { udp: null, tcp: null, tls: null };
    expect(summarize(forced, true)).toMatchObject({ level: "fail" });

    const broken = allGood();
    broken.roundTrip = { ...echoed, ok: false, received: 0, error: "x" };
    expect(summarize(broken, true).text).toBe("Calls may fail: media could not pass through the relay.");

    const noWebRTC = allGood();
    noWebRTC.host = gathered("", []);
    expect(summarize(noWebRTC, true).text).toMatch(/WebRTC/);
  });
});

test("median", () => {
  expect(median([])).toBe(0);
  expect(median([3, 1, 2])).toBe(2);
  expect(median([1, 2, 3, 10])).toBe(3);
});
