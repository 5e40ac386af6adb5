// SfuLink is this browser's media through the server's SFU: a publishing
// connection (we offer, the server answers) carrying our microphone and
// camera, and a subscribing connection (the server offers whenever the
// room's tracks change, we answer) carrying everyone else's. Offers go one
// way on each connection, so there is never glare. Each received track's
// stream id is the participant id of its publisher, followed by
// screenSuffix for a shared screen (sent beside the camera).

export interface SfuSignal {
  /** Sends an event with an acknowledgement and resolves with the ack. */
  request<T extends object>(event: string, payload?: unknown): Promise<T>;
  /** Sends an event without waiting. */
  send(event: string, payload: unknown): void;
}

export type SfuDirection = "publish" | "subscribe";

/** Ends the stream id of a shared screen, and its view id (views.ts). */
export const screenSuffix = "~screen";

type SendKind = "audio" | "video" | "screen";

export interface SfuOptions {
  config: RTCConfiguration;
  signal: SfuSignal;
  /** A remote participant's track arrived (or was replaced). */
  onTrack: (participantId: string, track: MediaStreamTrack, stream: MediaStream) => void;
  /** A remote participant's track ended (they left or unpublished). */
  onTrackEnded?: (participantId: string, track: MediaStreamTrack) => void;
}

/**
 * The camera's simulcast layers: a quarter, half and full size, named as
 * the server ranks them. Each subscriber gets the one its tile needs.
 */
export const simulcastLayers: RTCRtpEncodingParameters[] = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "f", maxBitrate: 1_500_000 },
];

/** How many of the server's early candidates are kept (a server gathers a handful). */
const maxEarlyCandidates = 32;

export class SfuLink {
  readonly pub: RTCPeerConnection;
  readonly sub: RTCPeerConnection;
  private readonly senders = new Map<SendKind, RTCRtpTransceiver>();
  private closed = false;
  private publishing: Promise<void> = Promise.resolve();
  /** subscribe's request, until acknowledged; whether the server offered. */
  private subscribed: Promise<void> = new Promise(() => {});
  private offered = false;
  /**
   * Our publishing candidates wait until the server has our first offer:
   * before it, the server has no connection to add them to.
   */
  private pubReady = false;
  private pubPending: RTCIceCandidateInit[] = [];
  /**
   * The server's candidates that came before its description was applied
   * to their connection (it trickles as soon as it gathers, which may be
   * before its offer, or the ack with its answer, reaches us): added once
   * it is.
   */
  private early = new Map<RTCPeerConnection, RTCIceCandidateInit[]>();

  constructor(private readonly opts: SfuOptions) {
    this.pub = new RTCPeerConnection(opts.config);
    this.sub = new RTCPeerConnection(opts.config);
    this.trickle(this.pub, "publish");
    this.trickle(this.sub, "subscribe");
    this.sub.ontrack = (e) => {
      const stream = e.streams[0];
      if (!stream) return;
      opts.onTrack(stream.id, e.track, stream);
      e.track.onended = () => opts.onTrackEnded?.(stream.id, e.track);
      stream.onremovetrack = (ev) => opts.onTrackEnded?.(stream.id, ev.track);
    };
  }

  private trickle(pc: RTCPeerConnection, direction: SfuDirection): void {
    pc.onicecandidate = (e) => {
      if (!e.candidate || this.closed) return;
      const candidate = e.candidate.toJSON();
      if (direction === "publish" && !this.pubReady) this.pubPending.push(candidate);
      else this.opts.signal.send("sfu-candidate", { direction, candidate });
    };
  }

  /**
   * publish sends our tracks (any may be null: nothing to send of that
   * kind yet) and negotiates the publishing connection. Later calls swap
   * tracks with replaceTrack and need no renegotiation. The screen has a
   * section of its own, named to the server, at its own resolution
   * (no simulcast: it is never scaled below readable).
   */
  publish(tracks: Record<SendKind, MediaStreamTrack | null>, stream: MediaStream, screenStream: MediaStream): Promise<void> {
    this.publishing = this.publishing.then(() => this.doPublish(tracks, stream, screenStream));
    return this.publishing;
  }

  private async doPublish(tracks: Record<SendKind, MediaStreamTrack | null>, stream: MediaStream, screenStream: MediaStream): Promise<void> {
    let renegotiate = false;
    for (const kind of ["audio", "video", "screen"] as const) {
      const track = tracks[kind];
      const sender = this.senders.get(kind)?.sender;
      if (sender) {
        if (sender.track !== track) await sender.replaceTrack(track);
        continue;
      }
      const init: RTCRtpTransceiverInit = { direction: "sendonly", streams: [kind === "screen" ? screenStream : stream] };
      if (kind === "video") init.sendEncodings = simulcastLayers;
      const t = this.pub.addTransceiver(track ?? (kind === "audio" ? "audio" : "video"), init);
      this.senders.set(kind, t);
      renegotiate = true;
    }
    if (!renegotiate || this.closed) return;
    const offer = await this.pub.createOffer();
    await this.pub.setLocalDescription(offer);
    const screen = this.senders.get("screen")?.mid ?? "";
    const ack = await this.opts.signal.request<{ sdp: string; type: RTCSdpType }>("sfu-publish", { type: "offer", sdp: offer.sdp, screen });
    if (this.closed) return;
    await this.pub.setRemoteDescription({ type: "answer", sdp: ack.sdp });
    this.addEarly(this.pub);
    this.pubReady = true;
    for (const candidate of this.pubPending.splice(0)) this.opts.signal.send("sfu-candidate", { direction: "publish", candidate });
  }

  /**
   * received resolves once the subscribing connection is connected (the
   * others' media can flow), or at once if the server had nothing to send
   * when it acknowledged our sfu-subscribe (it sends its offer before the
   * ack: a meeting moving to the SFU, whose members publish only now), or
   * after timeoutMs, or when closed.
   */
  received(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const sub = this.sub;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        sub.removeEventListener("connectionstatechange", check);
        resolve();
      };
      const check = () => {
        if (sub.connectionState !== "new" && sub.connectionState !== "connecting") done();
      };
      timer = setTimeout(done, timeoutMs);
      sub.addEventListener("connectionstatechange", check);
      check();
      this.subscribed.then(
        () => {
          if (!this.offered) done();
        },
        done, // refused: nothing will come on it
      );
    });
  }

  /** subscribe asks to receive without publishing (no camera or microphone). */
  subscribe(): Promise<void> {
    this.subscribed = this.opts.signal.request("sfu-subscribe", {}).then(() => undefined);
    return this.subscribed;
  }

  /** offer is the server's sfu-offer for the subscribing connection. */
  async offer(sdp: string): Promise<void> {
    if (this.closed) return;
    this.offered = true;
    await this.sub.setRemoteDescription({ type: "offer", sdp });
    this.addEarly(this.sub);
    const answer = await this.sub.createAnswer();
    await this.sub.setLocalDescription(answer);
    await this.opts.signal.request("sfu-answer", { type: "answer", sdp: answer.sdp });
  }

  /** candidate is one of the server's sfu-candidate events. */
  async candidate(direction: SfuDirection, candidate: RTCIceCandidateInit): Promise<void> {
    const pc = direction === "publish" ? this.pub : direction === "subscribe" ? this.sub : null;
    if (!pc || this.closed) return;
    if (!pc.remoteDescription) {
      const early = this.early.get(pc) ?? [];
      if (early.length < maxEarlyCandidates) early.push(candidate);
      this.early.set(pc, early);
      return;
    }
    try {
      await pc.addIceCandidate(candidate);
    } catch (err) {
      console.warn("sfu candidate refused", err);
    }
  }

  private addEarly(pc: RTCPeerConnection): void {
    const early = this.early.get(pc) ?? [];
    this.early.delete(pc);
    for (const c of early) void this.candidate(pc === this.pub ? "publish" : "subscribe", c);
  }

  setConfiguration(config: RTCConfiguration): void {
    for (const pc of [this.pub, this.sub]) {
      try {
        pc.setConfiguration(config);
      } catch {
        // Some fields cannot change on a live connection; keep the old ones.
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pub.close();
    this.sub.close();
  }
}
