import { describe, expect, it } from "vitest";
import { Emitter } from "./emitter";
import { allowedOrigins, EmbedBridge, embedParams, normalizeOrigin, parseCommand, protocol, type EmbeddedMeeting } from "./embed";
import type { MeetingEvents, Participant } from "./meeting";

const portal = "https://portal.example.com";

describe("embedParams", () => {
  const allowed = [portal, "http://127.0.0.1:5173"];
  it("talks to an allowed parent that asked", () => {
    expect(embedParams(`?embed=${encodeURIComponent(portal)}&name=%20Ada%20&lang=de`, allowed, true, portal)).toEqual({ parentOrigin: portal, name: "Ada", lang: "de" });
    expect(embedParams("?embed=http://127.0.0.1:5173/", allowed, true, undefined)?.parentOrigin).toBe("http://127.0.0.1:5173");
  });
  it("stays a plain page otherwise", () => {
    expect(embedParams(`?embed=${portal}`, allowed, false, undefined)).toBeNull(); // not framed
    expect(embedParams("?name=Ada", allowed, true, portal)).toBeNull(); // not asked
    expect(embedParams("?embed=https://evil.example", allowed, true, undefined)).toBeNull(); // not allowed
    expect(embedParams(`?embed=${portal}`, [], true, portal)).toBeNull(); // server allows none
    // The browser says the parent is someone else than it claims.
    expect(embedParams(`?embed=${portal}`, allowed, true, "http://127.0.0.1:5173")).toBeNull();
    expect(embedParams(`?embed=${portal}/path`, allowed, true, undefined)).toBeNull();
  });
  it("ignores languages we do not have", () => {
    expect(embedParams(`?embed=${portal}&lang=xx`, allowed, true, undefined)?.lang).toBeNull();
  });
});

describe("normalizeOrigin and allowedOrigins", () => {
  it("accepts origins only", () => {
    expect(normalizeOrigin("https://Portal.Example.com:443")).toBe(portal);
    for (const bad of ["portal.example.com", "javascript:alert(1)", "https://u@portal.example.com", "https://portal.example.com/x", "null", "*"]) {
      expect(normalizeOrigin(bad), bad).toBe("");
    }
  });
  it("reads the server's meta tag", () => {
    const doc = { querySelector: (s: string) => (s === 'meta[name="huddle-embed-origins"]' ? { getAttribute: () => `${portal}  http://127.0.0.1:5173 junk` } : null) };
    expect(allowedOrigins(doc as unknown as Document)).toEqual([portal, "http://127.0.0.1:5173"]);
    expect(allowedOrigins({ querySelector: () => null } as unknown as Document)).toEqual([]);
  });
});

describe("parseCommand", () => {
  it("takes our commands only", () => {
    expect(parseCommand({ huddle: protocol, kind: "command", id: 3, command: "sendChat", args: ["hi"] })).toEqual({ id: 3, command: "sendChat", args: ["hi"] });
    for (const bad of [null, "toggleAudio", { huddle: "other", kind: "command", id: 1, command: "hangup" }, { huddle: protocol, kind: "event", id: 1, command: "hangup" }, { huddle: protocol, kind: "command", id: "1", command: "hangup" }, { huddle: protocol, kind: "command", id: 1, command: "eval" }]) {
      expect(parseCommand(bad)).toBeNull();
    }
  });
});

class FakeMeeting extends Emitter<MeetingEvents> {
  selfId = "";
  room = "abc-defg-hij";
  name = "Ada";
  role = "";
  chats: string[] = [];
  left = false;
  local = {
    micOn: true,
    camOn: true,
    setMic: async (on: boolean) => void (this.local.micOn = on),
    setCamera: async (on: boolean) => void (this.local.camOn = on),
  };
  async leave() {
    this.left = true;
    this.emit("ended", { reason: "left", message: { key: "ended.left" } });
  }
  async sendChat(t: string) {
    this.chats.push(t);
  }
}

function participant(id: string, name: string, self: boolean): Participant {
  return { id, name, self, audio: true, video: true, screen: false, recording: false, stream: undefined as unknown as MediaStream };
}

function setup() {
  const posted: { message: Record<string, unknown>; origin: string }[] = [];
  const parent = { postMessage: (message: unknown, origin: string) => void posted.push({ message: message as Record<string, unknown>, origin }) };
  const bridge = new EmbedBridge(parent, { parentOrigin: portal, name: "Ada", lang: null });
  const m = new FakeMeeting();
  bridge.attach(m as unknown as EmbeddedMeeting);
  const command = (id: number, command: string, args: unknown[] = [], from: { source?: unknown; origin?: string } = {}) =>
    bridge.handle({ source: from.source ?? parent, origin: from.origin ?? portal, data: { huddle: protocol, kind: "command", id, command, args } });
  const settle = () => new Promise((r) => setTimeout(r, 0));
  const events = () => posted.filter((p) => p.message.kind === "event").map((p) => [p.message.event, p.message.data]);
  const result = (id: number) => posted.find((p) => p.message.kind === "result" && p.message.id === id)?.message;
  return { posted, parent, bridge, m, command, settle, events, result };
}

describe("EmbedBridge", () => {
  it("forwards the meeting's events, to the parent's origin only", () => {
    const { posted, m, events } = setup();
    m.emit("participant-added", participant("me", "Ada", true));
    m.emit("participant-added", participant("p2", "Bo", false));
    m.emit("chat", { id: "c1", from: "p2", name: "Bo", text: "hello", ts: 5 });
    m.emit("participant-removed", participant("p2", "Bo", false));
    m.emit("ended", { reason: "removed", message: { key: "ended.left" } });
    expect(events()).toEqual([
      ["joined", { id: "me", name: "Ada", room: "abc-defg-hij", role: "" }],
      ["participantJoined", { id: "p2", name: "Bo" }],
      ["chat", { id: "c1", from: "p2", name: "Bo", text: "hello", ts: 5 }],
      ["participantLeft", { id: "p2", name: "Bo" }],
      ["left", { reason: "removed" }],
    ]);
    expect(posted.every((p) => p.origin === portal && p.message.huddle === protocol)).toBe(true);
    // Detached once ended: a late event of the old meeting is not forwarded.
    m.emit("participant-added", participant("p3", "Cy", false));
    expect(events()).toHaveLength(5);
  });

  it("runs commands once joined and answers each", async () => {
    const { m, command, settle, result, events } = setup();
    command(1, "toggleAudio");
    await settle();
    expect(result(1)).toMatchObject({ ok: false, code: "not-joined" });
    m.emit("participant-added", participant("me", "Ada", true));
    command(2, "toggleAudio");
    command(3, "toggleVideo");
    command(4, "sendChat", ["hi there"]);
    command(5, "sendChat", [""]);
    command(6, "sendChat", [{ text: "x" }]);
    await settle();
    expect(result(2)).toMatchObject({ ok: true, data: { audio: false } });
    expect(result(3)).toMatchObject({ ok: true, data: { video: false } });
    expect(result(4)).toMatchObject({ ok: true });
    expect(result(5)).toMatchObject({ ok: false, code: "bad-argument" });
    expect(result(6)).toMatchObject({ ok: false, code: "bad-argument" });
    expect(m.chats).toEqual(["hi there"]);
    command(7, "hangup");
    await settle();
    expect(m.left).toBe(true);
    expect(result(7)).toMatchObject({ ok: true });
    expect(events().at(-1)).toEqual(["left", { reason: "left" }]);
  });

  it("ignores messages from anyone but the parent on its origin", async () => {
    const { m, command, settle, posted } = setup();
    m.emit("participant-added", participant("me", "Ada", true));
    const before = posted.length;
    command(1, "hangup", [], { origin: "https://evil.example" }); // another origin
    command(2, "hangup", [], { source: {} }); // another window, right origin
    await settle();
    expect(m.left).toBe(false);
    expect(posted.length).toBe(before);
  });

  it("refuses commands it does not know, so the parent need not wait", async () => {
    const { bridge, parent, settle, result } = setup();
    bridge.handle({ source: parent, origin: portal, data: { huddle: protocol, kind: "command", id: 9, command: "eval", args: ["1"] } });
    await settle();
    expect(result(9)).toMatchObject({ ok: false, code: "unknown-command" });
  });

  it("tells the parent why a join was refused, and stops following that meeting", () => {
    const { bridge, m, events } = setup();
    bridge.failed("auth-expired", "This invitation link has expired.");
    m.emit("participant-added", participant("me", "Ada", true));
    expect(events()).toEqual([["error", { code: "auth-expired", message: "This invitation link has expired." }]]);
  });

  it("joins by itself on the first prejoin only", () => {
    const { bridge } = setup();
    expect(bridge.prejoin()).toEqual({ name: "Ada", autoJoin: true });
    expect(bridge.prejoin()).toEqual({ name: "Ada", autoJoin: false });
  });
});
