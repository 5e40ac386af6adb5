// Meeting joins a room and keeps the mesh: one Peer per other participant.
//
// Who offers: the newcomer receives `peers` in its join ack and waits; each
// participant already in the room receives `user-joined` and creates the
// connection (adding its transceivers fires negotiationneeded, so it sends
// the offer). Perfect negotiation covers every later renegotiation from
// either side (ICE restarts, a track appearing) and any glare.
//
// Signaling outages: peer connections are never torn down when the socket
// drops. On reconnect we re-join with the resume token; when the server kept
// our place (same id) nothing else happens. When it did not (the server
// restarted), everyone gets new ids: each side tells its peers its new id
// over the data channel, so running connections are re-keyed instead of
// duplicated.
import type { ChatMessage } from "./chat";
import { Emitter } from "./emitter";
import type { LocalMedia } from "./local";
import { Peer } from "./peer";
import {
  describeError,
  normalizeJoined,
  Signaling,
  SignalingError,
  type ConnectionState,
  type JoinedRoom,
  type MediaState,
  type PeerInfo,
  type RoomSettings,
} from "./signaling";

export interface Participant extends PeerInfo {
  self: boolean;
  stream: MediaStream;
  peer?: Peer;
}

export type EndReason = "left" | "removed" | "denied" | "error";

export interface MeetingEvents extends Record<string, unknown> {
  "participant-added": Participant;
  "participant-removed": Participant;
  "participant-updated": Participant;
  chat: ChatMessage;
  notice: string;
  connection: ConnectionState;
  host: string;
  settings: RoomSettings;
  "waiting-list": { id: string; name: string }[];
  waiting: boolean;
  ended: { reason: EndReason; message: string };
  "mute-request": string;
}

/** How long a re-keyed peer may take to tell us its new id after a server restart. */
const remapWaitMs = 5000;

export class Meeting extends Emitter<MeetingEvents> {
  readonly sig: Signaling;
  selfId = "";
  host = "";
  resumeToken = "";
  settings: RoomSettings = { locked: false, hasPassword: false, waitingRoom: false };
  readonly participants = new Map<string, Participant>();
  readonly chat: ChatMessage[] = [];
  recording = false;
  /** waiting is true while a waiting room holds us. */
  waiting = false;
  private rtcConfig: RTCConfiguration = {};
  private joined = false;
  private ended = false;
  private password = "";
  /** Ids of connected peers not yet heard from since a server restart. */
  private stale = new Set<string>();
  private iceTimer: ReturnType<typeof setTimeout> | undefined;
  private unsubscribeLocal: () => void;

  constructor(
    readonly room: string,
    public name: string,
    readonly local: LocalMedia,
    signalingUrl?: string,
  ) {
    super();
    this.sig = new Signaling(signalingUrl);
    this.wireSignaling();
    this.unsubscribeLocal = local.onChange(() => this.localChanged());
  }

  get isHost(): boolean {
    return this.selfId !== "" && this.host === this.selfId;
  }

  get connection(): ConnectionState {
    return this.sig.state;
  }

  mediaState(): MediaState {
    return { audio: this.local.micOn, video: this.local.camOn || this.local.sharing, screen: this.local.sharing, recording: this.recording };
  }

  /**
   * join enters the room. It resolves "waiting" when a waiting room holds us
   * (then `admitted` finishes the join), and throws SignalingError on refusal.
   */
  async join(password = ""): Promise<"joined" | "waiting"> {
    this.password = password;
    const res = await this.sig.join({ room: this.room, name: this.name, password });
    if (res.waiting) {
      this.selfId = res.id;
      this.resumeToken = res.resumeToken;
      this.setWaiting(true);
      return "waiting";
    }
    this.entered(res);
    return "joined";
  }

  private entered(j: JoinedRoom): void {
    const rejoin = this.joined;
    const oldId = this.selfId;
    this.joined = true;
    this.selfId = j.id;
    this.host = j.host;
    this.resumeToken = j.resumeToken;
    this.name = j.name || this.name;
    this.settings = j.settings;
    this.setIce(j.iceServers, j.iceTransportPolicy);
    if (!rejoin) {
      this.addParticipant({ id: j.id, name: this.name, ...this.mediaState() }, true);
      for (const m of j.chat) this.addChat(m);
    } else if (oldId !== j.id) {
      this.selfRekeyed(oldId, j.id);
    }
    for (const p of j.peers) {
      const known = this.participants.get(p.id);
      if (known) this.update(known, p);
      else this.addParticipant(p, false);
    }
    this.emit("host", this.host);
    this.emit("settings", this.settings);
    this.sendMediaState();
  }

  private wireSignaling(): void {
    const s = this.sig;
    s.onState((state, reconnected) => {
      this.emit("connection", state);
      if (state === "connected" && reconnected && (this.joined || this.waiting) && !this.ended) void this.rejoin();
    });
    s.socket.on("connect_error", (err) => {
      if (!this.joined) this.emit("notice", `Cannot reach the server (${err.message}). Retrying…`);
    });
    s.on("user-joined", (p) => this.userJoined(p));
    s.on("user-left", ({ id }) => this.userLeft(id));
    s.on("offer", ({ from, offer }) => void this.peerFor(from).offer(offer));
    s.on("answer", ({ from, answer }) => void this.participants.get(from)?.peer?.answer(answer));
    s.on("ice-candidate", ({ from, candidate }) => void this.participants.get(from)?.peer?.candidate(candidate));
    s.on("media-state", (m) => {
      const p = this.participants.get(m.from);
      if (p) this.update(p, m);
    });
    s.on("chat-message", (m) => this.addChat(m));
    s.on("host-changed", ({ id }) => {
      this.host = id;
      this.emit("host", id);
      if (id === this.selfId) this.emit("notice", "You are now the host.");
    });
    s.on("room-settings", (st) => {
      this.settings = st;
      this.emit("settings", st);
    });
    s.on("waiting-list", ({ waiting }) => this.emit("waiting-list", Array.isArray(waiting) ? waiting : []));
    s.on("admitted", (j) => {
      this.setWaiting(false);
      this.entered(normalizeJoined(j));
    });
    s.on("denied", (e) => this.end("denied", describeError("denied", e?.message)));
    s.on("removed", () => this.end("removed", describeError("removed")));
    s.on("mute-request", ({ from }) => {
      const who = this.participants.get(from)?.name ?? "The host";
      void this.local.setMic(false);
      this.emit("mute-request", who);
      this.emit("notice", `${who} muted you. You can turn your microphone back on.`);
    });
    // We became host: this token says so, and after a server restart it
    // gives the role back (the one we held still resumes too).
    s.on("resume-token", ({ resumeToken }) => {
      if (typeof resumeToken === "string" && resumeToken) this.resumeToken = resumeToken;
    });
    s.on("signaling-error", (e) => {
      console.warn("signaling error", e);
      if (e?.code === "shutting-down") this.emit("notice", describeError("shutting-down"));
    });
  }

  private setWaiting(on: boolean): void {
    this.waiting = on;
    this.emit("waiting", on);
  }

  private async rejoin(): Promise<void> {
    try {
      const res = await this.sig.join({ room: this.room, name: this.name, password: this.password, resume: this.resumeToken });
      if (res.waiting) {
        // The token rotates on every join, resumes included.
        this.selfId = res.id;
        this.resumeToken = res.resumeToken;
        this.setWaiting(true);
        return;
      }
      this.entered(res);
      this.emit("notice", "Reconnected.");
    } catch (err) {
      const code = err instanceof SignalingError ? err.code : "error";
      if (code === "timeout") return; // the next reconnect tries again
      this.end("error", describeError(code, err instanceof Error ? err.message : ""));
    }
  }

  /** selfRekeyed: the server forgot us; tell every connected peer our new id. */
  private selfRekeyed(oldId: string, newId: string): void {
    const self = this.participants.get(oldId);
    if (self) {
      this.participants.delete(oldId);
      self.id = newId;
      this.participants.set(newId, self);
      this.emit("participant-updated", self);
    }
    this.stale.clear();
    for (const p of this.participants.values()) {
      if (p.self || !p.peer) continue;
      this.stale.add(p.id);
      p.peer.send({ type: "id", old: oldId, id: newId });
    }
  }

  /** A peer told us over the data channel that its signaling id changed. */
  private peerMessage(from: Peer, msg: unknown): void {
    if (!msg || typeof msg !== "object") return;
    const m = msg as { type?: unknown; id?: unknown; old?: unknown };
    if (m.type !== "id" || typeof m.id !== "string") return;
    const p = [...this.participants.values()].find((x) => x.peer === from);
    if (!p || p.id === m.id) return;
    const placeholder = this.participants.get(m.id);
    if (placeholder && !placeholder.self) {
      // Known under the new id already (ack `peers` or user-joined): merge.
      this.participants.delete(m.id);
      placeholder.peer?.close();
      this.update(p, { name: placeholder.name, audio: placeholder.audio, video: placeholder.video, screen: placeholder.screen, recording: placeholder.recording });
      this.emit("participant-removed", placeholder);
    }
    this.stale.delete(p.id);
    this.participants.delete(p.id);
    p.id = m.id;
    from.peerId = m.id;
    this.participants.set(m.id, p);
    this.emit("participant-updated", p);
  }

  private userJoined(info: PeerInfo): void {
    const known = this.participants.get(info.id);
    if (known) {
      this.update(known, info);
      return;
    }
    const p = this.addParticipant(info, false);
    this.emit("notice", `${info.name} joined`);
    const connect = () => {
      if (this.participants.get(info.id) === p && !p.peer && !this.ended) this.createPeer(p, true);
    };
    // Right after a server restart this may be someone we are still
    // connected to under their old id: give them time to say so.
    if (this.stale.size > 0) setTimeout(connect, remapWaitMs);
    else connect();
  }

  private userLeft(id: string): void {
    const p = this.participants.get(id);
    if (!p || p.self) return;
    this.participants.delete(id);
    p.peer?.close();
    this.emit("participant-removed", p);
    this.emit("notice", `${p.name} left`);
  }

  private addParticipant(info: PeerInfo, self: boolean): Participant {
    const p: Participant = {
      id: info.id,
      name: String(info.name ?? "Guest"),
      audio: info.audio !== false,
      video: info.video !== false,
      screen: !!info.screen,
      recording: !!info.recording,
      self,
      stream: self ? this.local.view : new MediaStream(),
    };
    this.participants.set(p.id, p);
    this.emit("participant-added", p);
    return p;
  }

  private update(p: Participant, m: Partial<PeerInfo>): void {
    if (typeof m.name === "string") p.name = m.name;
    for (const k of ["audio", "video", "screen", "recording"] as const) {
      if (typeof m[k] === "boolean") p[k] = m[k];
    }
    this.emit("participant-updated", p);
  }

  /** peerFor returns the connection to id, creating it to answer an offer. */
  private peerFor(id: string): Peer {
    let p = this.participants.get(id);
    if (!p) p = this.addParticipant({ id, name: "Guest", audio: true, video: true, screen: false, recording: false }, false);
    return p.peer ?? this.createPeer(p, false);
  }

  private createPeer(p: Participant, initiator: boolean): Peer {
    const peer: Peer = new Peer({
      selfId: this.selfId,
      peerId: p.id,
      config: this.rtcConfig,
      localStream: this.local.view,
      localTrack: (kind) => this.local.track(kind),
      signal: (event, payload) => this.sig.emit(event, payload),
      onMessage: (msg) => this.peerMessage(peer, msg),
      onTrack: () => this.emit("participant-updated", p),
      onState: (state) => {
        // A connection that broke during a server restart will not be re-keyed.
        if (state === "failed" || state === "closed") this.stale.delete(p.id);
      },
    });
    p.peer = peer;
    p.stream = peer.stream;
    if (initiator) peer.start();
    this.emit("participant-updated", p);
    return peer;
  }

  private addChat(m: ChatMessage): void {
    if (!m || typeof m.text !== "string") return;
    if (this.chat.some((c) => c.id === m.id)) return;
    this.chat.push(m);
    this.emit("chat", m);
  }

  async sendChat(text: string): Promise<void> {
    await this.sig.request("chat-message", { text });
  }

  private localChanged(): void {
    for (const p of this.participants.values()) {
      if (!p.peer) continue;
      void p.peer.setTrack("audio", this.local.track("audio"));
      void p.peer.setTrack("video", this.local.track("video"));
    }
    const self = this.participants.get(this.selfId);
    if (self) this.update(self, this.mediaState());
    this.sendMediaState();
  }

  setRecording(on: boolean): void {
    this.recording = on;
    this.localChanged();
  }

  private sendMediaState(): void {
    if (this.joined && this.sig.state === "connected") this.sig.emit("media-state", this.mediaState());
  }

  private setIce(servers: RTCIceServer[], policy: RTCIceTransportPolicy): void {
    this.rtcConfig = { iceServers: servers, iceTransportPolicy: policy };
    for (const p of this.participants.values()) {
      try {
        p.peer?.pc.setConfiguration(this.rtcConfig);
      } catch (err) {
        console.warn("setConfiguration", err);
      }
    }
    clearTimeout(this.iceTimer);
    const ms = refreshDelay(servers, Date.now());
    if (ms !== null) this.iceTimer = setTimeout(() => void this.refreshIce(), ms);
  }

  private async refreshIce(): Promise<void> {
    try {
      const r = await this.sig.request<{ iceServers: RTCIceServer[]; iceTransportPolicy: RTCIceTransportPolicy }>("ice-servers");
      this.setIce(r.iceServers ?? [], r.iceTransportPolicy === "relay" ? "relay" : "all");
    } catch {
      this.iceTimer = setTimeout(() => void this.refreshIce(), 30_000);
    }
  }

  // Host controls: the server enforces them; these only ask.
  updateSettings(s: { locked?: boolean; password?: string; waitingRoom?: boolean }) {
    return this.sig.request("room-settings", s);
  }
  admit(id: string) {
    return this.sig.request("admit", { id });
  }
  deny(id: string) {
    return this.sig.request("deny", { id });
  }
  removeParticipant(id: string) {
    return this.sig.request("remove-participant", { id });
  }
  requestMute(id: string) {
    return this.sig.request("request-mute", { id });
  }

  /** leave hangs up: every connection closed, every track stopped. */
  async leave(): Promise<void> {
    if (this.ended) return;
    if (this.joined && this.sig.state === "connected") {
      await Promise.race([this.sig.request("leave-room").catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
    }
    this.end("left", "You left the meeting");
  }

  /** abandon drops a join that failed, keeping the local tracks for a retry. */
  abandon(): void {
    this.ended = true;
    clearTimeout(this.iceTimer);
    this.unsubscribeLocal();
    this.sig.close();
    this.clear();
  }

  private end(reason: EndReason, message: string): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.iceTimer);
    for (const p of this.participants.values()) p.peer?.close();
    this.local.stopAll();
    this.unsubscribeLocal();
    this.sig.close();
    this.emit("ended", { reason, message });
  }
}

/**
 * refreshDelay reads the expiry from TURN REST usernames ("expiry:id") and
 * returns when to fetch new credentials (at 80% of the lifetime), or null.
 */
export function refreshDelay(servers: RTCIceServer[], now: number): number | null {
  let earliest = Infinity;
  for (const s of servers) {
    const m = /^(\d{9,})(:|$)/.exec(s.username ?? "");
    if (m) earliest = Math.min(earliest, Number(m[1]) * 1000);
  }
  if (!Number.isFinite(earliest)) return null;
  return Math.max(10_000, (earliest - now) * 0.8);
}
