// Peer is the connection to one other participant: an RTCPeerConnection
// negotiated with perfect negotiation, an audio, a camera and a screen
// transceiver, in that order on both sides (tracks are swapped with
// replaceTrack: mute and camera off need no renegotiation), a data channel
// that survives signaling outages, and ICE restarts when the path breaks.
// The screen is the second video section: that is how the other side
// tells it from the camera.
import { isPolite, Negotiator } from "./negotiation";

export type Kind = "audio" | "video" | "screen";

/** The sections, in the order the offerer adds them. */
const kinds: Kind[] = ["audio", "video", "screen"];

export interface PeerOptions {
  selfId: string;
  peerId: string;
  config: RTCConfiguration;
  /** Sends a signaling message addressed to this peer. */
  signal: (event: "offer" | "answer" | "ice-candidate", payload: object) => void;
  /** The local track to send for a kind, or null. */
  localTrack: (kind: Kind) => MediaStreamTrack | null;
  localStream: MediaStream;
  /** The stream our screen is sent in. */
  screenStream: MediaStream;
  /** A message arrived on the data channel. */
  onMessage?: (msg: unknown) => void;
  onTrack?: () => void;
  onState?: (state: RTCPeerConnectionState) => void;
}

/** How long "disconnected" may last before an ICE restart is tried. */
const disconnectedGraceMs = 4000;

export class Peer {
  readonly pc: RTCPeerConnection;
  /** The other participant's microphone and camera. */
  readonly stream = new MediaStream();
  /** The other participant's shared screen (a muted track when not sharing). */
  readonly screenStream = new MediaStream();
  readonly negotiator: Negotiator;
  readonly channel: RTCDataChannel;
  peerId: string;
  private transceivers: Partial<Record<Kind, RTCRtpTransceiver>> = {};
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(private readonly opts: PeerOptions) {
    this.peerId = opts.peerId;
    this.pc = new RTCPeerConnection(opts.config);
    this.negotiator = new Negotiator(this.pc, {
      polite: isPolite(opts.selfId, opts.peerId),
      send: (d) => {
        if (d.type === "offer") opts.signal("offer", { to: this.peerId, offer: d });
        else opts.signal("answer", { to: this.peerId, answer: d });
      },
      beforeAnswer: () => this.attachLocalTracks(),
    });
    // Negotiated on both sides with the same id: no extra round trip, and
    // either side may be the offerer.
    this.channel = this.pc.createDataChannel("huddle", { negotiated: true, id: 0 });
    this.channel.onmessage = (e) => {
      try {
        opts.onMessage?.(JSON.parse(String(e.data)));
      } catch {
        // Not ours; ignore malformed data from a peer.
      }
    };
    this.pc.onnegotiationneeded = () => void this.negotiator.negotiationNeeded();
    this.pc.onicecandidate = (e) => {
      opts.signal("ice-candidate", { to: this.peerId, candidate: e.candidate ? e.candidate.toJSON() : null });
    };
    this.pc.ontrack = (e) => this.addRemoteTrack(e.track, e.transceiver);
    this.pc.onconnectionstatechange = () => this.connectionChanged();
  }

  /** start makes this side the offerer (it adds the transceivers). */
  start(): void {
    void this.attachLocalTracks();
  }

  offer(d: RTCSessionDescriptionInit): Promise<void> {
    return this.negotiator.description(d);
  }

  answer(d: RTCSessionDescriptionInit): Promise<void> {
    return this.negotiator.description(d);
  }

  candidate(c: RTCIceCandidateInit | null): Promise<void> {
    return this.negotiator.candidate(c);
  }

  /**
   * attachLocalTracks makes sure there is one transceiver per kind sending
   * the current local track. As answerer it reuses the transceivers the
   * offer created; as offerer it adds them (recvonly when there is nothing
   * to send, so we still receive everything).
   */
  async attachLocalTracks(): Promise<void> {
    for (const kind of kinds) {
      const track = this.opts.localTrack(kind);
      let tr = this.transceivers[kind];
      if (!tr) {
        tr = this.offered(kind);
        if (!tr) {
          tr = this.pc.addTransceiver(track ?? mediaKind(kind), {
            direction: track ? "sendrecv" : "recvonly",
            streams: [this.streamOf(kind)],
          });
          this.transceivers[kind] = tr;
          continue;
        }
        this.transceivers[kind] = tr;
      }
      await this.setTrack(kind, track);
    }
  }

  /** setTrack swaps what we send; direction changes renegotiate by themselves. */
  async setTrack(kind: Kind, track: MediaStreamTrack | null): Promise<void> {
    const tr = this.transceivers[kind];
    if (!tr || this.closed) return;
    if (tr.sender.track !== track) await tr.sender.replaceTrack(track);
    // Keep sendrecv once we have sent: a later null track (camera off) just
    // sends nothing, without a renegotiation.
    if (track && tr.direction !== "sendrecv") {
      tr.direction = "sendrecv";
      tr.sender.setStreams?.(this.streamOf(kind));
    }
  }

  /** offered finds the transceiver of a kind that the other side's offer made. */
  private offered(kind: Kind): RTCRtpTransceiver | undefined {
    const same = this.pc.getTransceivers().filter((t) => t.receiver.track.kind === mediaKind(kind) && t.currentDirection !== "stopped");
    return kind === "screen" ? same[1] : same[0];
  }

  /** kindOf says which of our sections a transceiver is. */
  private kindOf(tr: RTCRtpTransceiver): Kind {
    if (tr.receiver.track.kind === "audio") return "audio";
    return this.offered("screen") === tr ? "screen" : "video";
  }

  private streamOf(kind: Kind): MediaStream {
    return kind === "screen" ? this.opts.screenStream : this.opts.localStream;
  }

  /** send writes a message on the data channel when it is open. */
  send(msg: unknown): void {
    if (this.channel.readyState === "open") this.channel.send(JSON.stringify(msg));
  }

  restartIce(): void {
    if (!this.closed) this.pc.restartIce();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.channel.onmessage = null;
    this.pc.close();
    for (const s of [this.stream, this.screenStream]) s.getTracks().forEach((t) => s.removeTrack(t));
  }

  private addRemoteTrack(track: MediaStreamTrack, tr: RTCRtpTransceiver): void {
    const stream = this.kindOf(tr) === "screen" ? this.screenStream : this.stream;
    for (const old of stream.getTracks()) {
      if (old.kind === track.kind && old !== track) stream.removeTrack(old);
    }
    if (!stream.getTracks().includes(track)) stream.addTrack(track);
    this.opts.onTrack?.();
  }

  private connectionChanged(): void {
    const state = this.pc.connectionState;
    this.opts.onState?.(state);
    clearTimeout(this.restartTimer);
    if (state === "failed") this.restartIce();
    else if (state === "disconnected") {
      this.restartTimer = setTimeout(() => {
        if (this.pc.connectionState === "disconnected") this.restartIce();
      }, disconnectedGraceMs);
    }
  }
}

function mediaKind(kind: Kind): "audio" | "video" {
  return kind === "audio" ? "audio" : "video";
}
