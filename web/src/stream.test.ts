import { describe, expect, it } from "vitest";
import { checkStreamTarget, normalizeStreamStatus, onStreamStatus, startStream, stopStream, type StreamSignaling } from "./stream";

class FakeSignaling implements StreamSignaling {
  sent: [string, unknown][] = [];
  handlers = new Map<string, Set<(p: unknown) => void>>();
  constructor(private ack: any) {}
  async request<T extends object>(event: string, payload?: unknown): Promise<T & { ok: true }> {
    this.sent.push([event, payload]);
    return this.ack;
  }
  socket = {
    on: (e: string, fn: (p: unknown) => void) => {
      if (!this.handlers.has(e)) this.handlers.set(e, new Set());
      this.handlers.get(e)!.add(fn);
    },
    off: (e: string, fn: (p: unknown) => void) => {
      this.handlers.get(e)?.delete(fn);
    },
  };
  fire(e: string, p: unknown) {
    for (const fn of this.handlers.get(e) ?? []) fn(p);
  }
}

describe("live streaming client", () => {
  it("sends stream-start with url and key and returns the masked status", async () => {
    const sig = new FakeSignaling({ ok: true, status: { state: "starting", target: "rtmp://h/live/****yz" } });
    const st = await startStream(sig, "rtmp://h/live", "secret-xyz");
    expect(sig.sent).toEqual([["stream-start", { url: "rtmp://h/live", key: "secret-xyz" }]]);
    expect(st).toEqual({ state: "starting", target: "rtmp://h/live/****yz" });
    await stopStream(sig);
    expect(sig.sent[1]).toEqual(["stream-stop", {}]);
  });

  it("passes on valid stream-status events only, until unsubscribed", () => {
    const sig = new FakeSignaling({ ok: true });
    const got: unknown[] = [];
    const off = onStreamStatus(sig, (s) => got.push(s));
    sig.fire("stream-status", { state: "reconnecting", reason: "Connection refused" });
    sig.fire("stream-status", { state: "bogus" });
    sig.fire("stream-status", "live");
    off();
    sig.fire("stream-status", { state: "live" });
    expect(got).toEqual([{ state: "reconnecting", reason: "Connection refused" }]);
    expect(normalizeStreamStatus(null)).toBeNull();
  });

  it("checks targets as the server does", () => {
    expect(checkStreamTarget("rtmp://a.rtmp.youtube.com/live2", "abcd-1234")).toBeNull();
    expect(checkStreamTarget("rtmps://live.example:443/app/", "")).toBeNull();
    expect(checkStreamTarget("http://example.com/live", "k")).toBe("stream-bad-url");
    expect(checkStreamTarget("rtmp://host/app x", "k")).toBe("stream-bad-url");
    expect(checkStreamTarget("rtmp://host/app?x=1", "k")).toBe("stream-bad-url");
    expect(checkStreamTarget("rtmp://host/app", "a/b")).toBe("stream-bad-key");
    expect(checkStreamTarget("rtmp://host/app", "k".repeat(257))).toBe("stream-bad-key");
  });
});
