import { afterEach, describe, expect, it, vi } from "vitest";
import { SfuLink } from "./sfu";

/** FakePC is the little of RTCPeerConnection that SfuLink's subscribing side uses. */
class FakePC {
  remoteDescription: RTCSessionDescriptionInit | null = null;
  added: RTCIceCandidateInit[] = [];
  onicecandidate: unknown = null;
  ontrack: unknown = null;
  async setRemoteDescription(d: RTCSessionDescriptionInit): Promise<void> {
    await new Promise((r) => setTimeout(r, 5));
    this.remoteDescription = d;
  }
  async createAnswer(): Promise<RTCSessionDescriptionInit> {
    return { type: "answer", sdp: "answer" };
  }
  async setLocalDescription(): Promise<void> {}
  async addIceCandidate(c: RTCIceCandidateInit): Promise<void> {
    // As a browser: a candidate needs the remote description first.
    if (!this.remoteDescription) throw new Error("InvalidStateError: The remote description was null");
    this.added.push(c);
  }
  async createOffer(): Promise<RTCSessionDescriptionInit> {
    return { type: "offer", sdp: "offer" };
  }
  addTransceiver(): unknown {
    return { sender: { track: null, replaceTrack: async () => {} }, mid: null };
  }
  close(): void {}
  connectionState: RTCPeerConnectionState = "new";
  private listeners: (() => void)[] = [];
  addEventListener(_: string, f: () => void): void {
    this.listeners.push(f);
  }
  removeEventListener(_: string, f: () => void): void {
    this.listeners = this.listeners.filter((g) => g !== f);
  }
  /** becomes sets connectionState and tells the listeners, as a browser does. */
  becomes(state: RTCPeerConnectionState): void {
    this.connectionState = state;
    for (const f of [...this.listeners]) f();
  }
}

/** settled says whether p has settled within a few ms. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  return Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20))]);
}

describe("SfuLink", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("keeps the server's candidates that come before its offer, and adds them once the offer is applied", async () => {
    vi.stubGlobal("RTCPeerConnection", FakePC);
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const sent: string[] = [];
    const link = new SfuLink({
      config: {},
      signal: { request: async (e) => (sent.push(e), {}) as never, send: () => {} },
      onTrack: () => {},
    });
    const sub = link.sub as unknown as FakePC;
    const early = { candidate: "candidate:1 1 udp 1 127.0.0.1 7882 typ host", sdpMid: "0" };
    await link.candidate("subscribe", early);
    const offered = link.offer("offer");
    const during = { candidate: "candidate:2 1 tcp 1 127.0.0.1 7881 typ host tcptype passive", sdpMid: "0" };
    await link.candidate("subscribe", during); // while the offer is being applied
    await offered;
    await new Promise((r) => setTimeout(r, 0));
    expect(sub.added).toEqual([early, during]);
    expect(sent).toEqual(["sfu-answer"]);
    const late = { candidate: "candidate:3 1 udp 1 127.0.0.2 7882 typ host", sdpMid: "0" };
    await link.candidate("subscribe", late);
    expect(sub.added).toEqual([early, during, late]);
  });

  it("keeps the server's publishing candidates that come before the answer in sfu-publish's ack", async () => {
    vi.stubGlobal("RTCPeerConnection", FakePC);
    vi.stubGlobal("MediaStream", class {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    let answer: (a: { sdp: string; type: RTCSdpType }) => void = () => {};
    const link = new SfuLink({
      config: {},
      signal: { request: () => new Promise((r) => (answer = r as never)) as never, send: () => {} },
      onTrack: () => {},
    });
    const pub = link.pub as unknown as FakePC;
    const published = link.publish({ audio: null, video: null, screen: null }, new MediaStream(), new MediaStream());
    await new Promise((r) => setTimeout(r, 0));
    const before = { candidate: "candidate:1 1 udp 1 127.0.0.1 7882 typ host", sdpMid: "0" };
    await link.candidate("publish", before); // the server gathered before its ack went out
    answer({ type: "answer", sdp: "answer" });
    await published;
    await new Promise((r) => setTimeout(r, 0));
    expect(pub.added).toEqual([before]);
  });

  describe("received, which a joiner's publishing waits for", () => {
    const link = (ack: Promise<unknown>) =>
      new SfuLink({
        config: {},
        signal: { request: (e) => (e === "sfu-subscribe" ? ack : Promise.resolve({})) as never, send: () => {} },
        onTrack: () => {},
      });

    it("resolves when the subscribing connection is up, not before", async () => {
      vi.stubGlobal("RTCPeerConnection", FakePC);
      let ack: (v: unknown) => void = () => {};
      const l = link(new Promise((r) => (ack = r)));
      void l.subscribe();
      const sub = l.sub as unknown as FakePC;
      await l.offer("offer"); // the server's offer comes before its ack
      ack({});
      const got = l.received(5000);
      sub.becomes("connecting");
      expect(await settled(got)).toBe(false);
      sub.becomes("connected");
      expect(await settled(got)).toBe(true);
    });

    it("resolves at once when the server acknowledged without an offer (nothing to receive yet)", async () => {
      vi.stubGlobal("RTCPeerConnection", FakePC);
      const l = link(Promise.resolve({}));
      void l.subscribe();
      expect(await settled(l.received(5000))).toBe(true);
    });

    it("resolves after its time-out when the connection never comes up", async () => {
      vi.stubGlobal("RTCPeerConnection", FakePC);
      const l = link(new Promise(() => {}));
      void l.subscribe();
      const got = l.received(40);
      expect(await settled(got)).toBe(false);
      await new Promise((r) => setTimeout(r, 40));
      expect(await settled(got)).toBe(true);
    });
  });
});
