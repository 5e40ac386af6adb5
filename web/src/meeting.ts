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
import { downloadFile, FileError, uploadFile, type ChatFile } from "./files";
import { Emitter } from "./emitter";
import type { LocalMedia } from "./local";
import { Peer } from "./peer";
import { screenSuffix, SfuLink } from "./sfu";
import type { View } from "./views";
import { isolate } from "./text";
import { msg, t, type Msg } from "./i18n";
import {
  describeError,
  normalizeJoined,
  Signaling,
  SignalingError,
  type ConnectionState,
  type JoinedRoom,
  type MediaMode,
  type MediaState,
  type PeerInfo,
  type RaisedHand,
  type RecordingListing,
  type RoomSettings,
  type ServerRecordingEvent,
} from "./signaling";

export interface Participant extends PeerInfo {
  self: boolean;
  stream: MediaStream;
  peer?: Peer;
  /** What the SFU sends us of this participant, once it has sent anything. */
  sfuStream?: MediaStream;
  /** The participant's shared screen (a track beside the camera), once there is a path for one. */
  screenStream?: MediaStream;
  /** The SFU's stream of the participant's screen, once it has sent one. */
  sfuScreenStream?: MediaStream;
  /** Into the SFU: we show this participant through it, and it shows us (sfu-shown over the data channel). */
  sfuShown?: boolean;
  peerSfuShown?: boolean;
}

export type EndReason = "left" | "removed" | "denied" | "error";

export interface MeetingEvents extends Record<string, unknown> {
  "participant-added": Participant;
  "participant-removed": Participant;
  "participant-updated": Participant;
  chat: ChatMessage;
  notice: Msg;
  connection: ConnectionState;
  host: string;
  settings: RoomSettings;
  "waiting-list": { id: string; name: string }[];
  waiting: boolean;
  ended: { reason: EndReason; message: Msg };
  "mute-request": string;
  /** The raised hands changed; by is the host when it lowered someone's. */
  hands: { hands: RaisedHand[]; id: string; raised: boolean; by?: string };
  reaction: { id: string; emoji: string };
  /** The host put someone on everyone's stage ("": nobody). */
  spotlight: string;
  /** The server's dominant speaker; null: the page judges by itself (mesh). */
  "active-speaker": string | null;
  /**
   * The server recording started or stopped (see ServerRecordingEvent);
   * first is true the first time this participant hears it is on, since it
   * last heard it was off: the one-time notice.
   */
  "server-recording": ServerRecordingEvent & { first: boolean; resync?: boolean };
  /** To the host: a server recording's playable file is made, or failed. */
  "recording-composed": { id: string; ok: boolean; error: string };
}

/** How long a re-keyed peer may take to tell us its new id after a server restart. */
const remapWaitMs = 5000;

/**
 * How long the old path keeps running after the new one carries media, when
 * the room moves between the mesh and the SFU: the tile shows the new
 * stream first, then the old connection closes.
 */
const pathOverlapMs = 1500;

/** How long, back in the mesh, a tile waits for its direct path's first frame at most. */
const directFrameWaitMs = 2000;

/**
 * tileSwapMs is how long the SFU stays after the tiles took the direct
 * streams: a tile shows a new stream once its element has a frame.
 */
const tileSwapMs = 1000;

/** How long a joiner's publishing waits for its receiving connection at most. */
const receiveFirstMaxMs = 1000;

/**
 * Into the SFU, a direct connection closes once both ends show each other
 * through the SFU (each tells the other over the data channel), so that
 * the end whose SFU path came first does not take the picture from the
 * other: its tile froze for up to a second in sfu.test.mjs. A peer that
 * never says so (its data channel down) loses the direct path after this.
 */
const directCloseFallbackMs = 8000;

/** How soon a rejoin that timed out is tried again while the socket is up. */
const rejoinRetryMs = 1000;

export class Meeting extends Emitter<MeetingEvents> {
  readonly sig: Signaling;
  selfId = "";
  host = "";
  resumeToken = "";
  settings: RoomSettings = { locked: false, hasPassword: false, waitingRoom: false };
  readonly participants = new Map<string, Participant>();
  readonly chat: ChatMessage[] = [];
  /** Raised hands, first raised first (the server's order). */
  hands: RaisedHand[] = [];
  /** The participant the host put on everyone's stage, or "". */
  spotlight = "";
  recording = false;
  /** The server records meetings (the host's Record control uses it); false: the browser records. */
  serverRecording = false;
  /** The largest file the chat takes, in bytes; 0: none (files.ts). */
  fileMaxBytes = 0;
  /** The server is recording this meeting now. */
  serverRecordingActive = false;
  /** Told already that the server recording is on (the notice shows once). */
  private recordingNoticed = false;
  /** A recording event came since the last rejoin started. */
  private recordingHeard = false;
  /** waiting is true while a waiting room holds us. */
  waiting = false;
  private rtcConfig: RTCConfiguration = {};
  private joined = false;
  /** The socket is back and the meeting has not taken us back yet. */
  private rejoining = false;
  private rejoinRunning = false;
  private rejoinTimer: ReturnType<typeof setTimeout> | undefined;
  private ended = false;
  private password = "";
  /** Ids of connected peers not yet heard from since a server restart. */
  private stale = new Set<string>();
  private iceTimer: ReturnType<typeof setTimeout> | undefined;
  /** How our media travels now; the server decides (media-mode). */
  mode: MediaMode = "mesh";
  private sfu: SfuLink | undefined;
  /** Our SFU connections that the server no longer knows (checkSfu). */
  private sfuLost: SfuLink | undefined;
  /**
   * A media-mode event came since our last join-room was sent. It is newer
   * than the mode in that join's ack: the server may move the room while
   * the ack is on its way (another participant joining or resuming at the
   * same moment), so the ack's mode must not undo it.
   */
  private modeHeard = false;
  private sfuLeaveTimer: ReturnType<typeof setTimeout> | undefined;
  private views: View[] = [];
  private unsubscribeLocal: () => void;

  constructor(
    readonly room: string,
    public name: string,
    readonly local: LocalMedia,
    signalingUrl?: string,
    /** A connection opened earlier (on the pre-join screen) to use; the meeting owns it from now on. */
    sig?: Signaling,
  ) {
    super();
    this.sig = sig ?? new Signaling(signalingUrl);
    this.serverBase = signalingUrl;
    this.wireSignaling();
    this.unsubscribeLocal = local.onChange(() => this.localChanged());
  }

  /** The join token of the meeting link (?token=), sent with every join. */
  token = "";
  /** The role the token gave us (host, guest, viewer); "" without one. */
  role = "";

  private tokenField(): { token?: string } {
    return this.token ? { token: this.token } : {};
  }

  get isHost(): boolean {
    return this.selfId !== "" && this.host === this.selfId;
  }

  /** mayRecord: this participant controls the server recording (the host; with join tokens, the host role). */
  get mayRecord(): boolean {
    return this.serverRecording && (this.role ? this.role === "host" : this.isHost);
  }

  /**
   * connection is "connected" only while we are in the meeting: after the
   * socket comes back, it stays "reconnecting" until the meeting has taken
   * us back (a cluster node taking a meeting over may need seconds).
   */
  get connection(): ConnectionState {
    return this.sig.state === "connected" && this.rejoining ? "reconnecting" : this.sig.state;
  }

  mediaState(): MediaState {
    return { audio: this.local.micOn, video: this.local.camOn, screen: this.local.sharing, recording: this.recording };
  }

  /**
   * join enters the room. It resolves "waiting" when a waiting room holds us
   * (then `admitted` finishes the join), and throws SignalingError on refusal.
   */
  async join(password = ""): Promise<"joined" | "waiting"> {
    this.password = password;
    this.modeHeard = false;
    const res = await this.sig.join({ room: this.room, name: this.name, password, sfu: true, ...this.tokenField() });
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
    this.role = j.role ?? "";
    this.serverRecording = j.serverRecording;
    this.fileMaxBytes = j.fileMaxBytes;
    this.settings = j.settings;
    this.setIce(j.iceServers, j.iceTransportPolicy);
    if (!rejoin) {
      this.addParticipant({ id: j.id, name: this.name, ...this.mediaState() }, true);
      for (const m of j.chat) this.addChat(m);
    } else if (oldId !== j.id) {
      this.selfRekeyed(oldId, j.id);
    }
    if (rejoin && this.serverRecordingActive && !this.recordingHeard) {
      // Back after an outage: the server says again right after this ack
      // if it still records (no second notice then; with polling it may
      // have said so already, in the same batch); if it stopped
      // meanwhile, nothing else would say so.
      this.serverRecordingActive = false;
      this.emit("server-recording", { active: false, first: false, resync: true });
    }
    for (const p of j.peers) {
      const known = this.participants.get(p.id);
      if (known) this.update(known, p);
      else this.addParticipant(p, false);
    }
    this.hands = j.hands;
    this.emit("hands", { hands: this.hands, id: "", raised: false });
    this.setSpotlight(j.spotlight);
    this.emit("host", this.host);
    this.emit("settings", this.settings);
    this.sendMediaState();
    // Joining a meeting that is on the SFU already: receive first.
    if (!this.modeHeard) this.setMode(j.media, !rejoin && j.peers.length > 0);
    this.modeHeard = false;
  }

  private wireSignaling(): void {
    const s = this.sig;
    s.onState((state, reconnected) => {
      if (state === "connected" && reconnected && (this.joined || this.waiting) && !this.ended) {
        this.rejoining = true;
        void this.rejoin();
      }
      this.emit("connection", this.connection);
    });
    s.socket.on("connect_error", (err) => {
      if (!this.joined) this.emit("notice", msg("notice.cannotReach", { detail: err.message }));
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
    s.on("hand", (e) => this.handChanged(e));
    s.on("reaction", (e) => {
      if (e && typeof e.id === "string" && typeof e.emoji === "string") this.emit("reaction", { id: e.id, emoji: e.emoji });
    });
    s.on("spotlight", (e) => this.setSpotlight(typeof e?.id === "string" ? e.id : ""));
    s.on("active-speaker", (e) => {
      if (this.mode === "sfu" && typeof e?.id === "string") this.emit("active-speaker", e.id);
    });
    s.on("host-changed", ({ id }) => {
      this.host = id;
      this.emit("host", id);
      if (id === this.selfId) this.emit("notice", msg("notice.nowHost"));
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
    // The server's API removes with a code of its own (meeting-ended, ...).
    s.on("removed", (p) => this.end("removed", describeError(typeof p?.code === "string" && p.code !== "removed" ? p.code : "removed", p?.message)));
    s.on("mute-request", ({ from }) => {
      const who = this.participants.get(from)?.name;
      void this.local.setMic(false);
      this.emit("mute-request", who ?? "");
      this.emit("notice", who === undefined ? msg("notice.mutedByHost") : msg("notice.mutedBy", { name: isolate(who) }));
    });
    s.on("password-failures", ({ count }) => {
      // Only the host is told: someone is trying passwords on the meeting.
      const n = Number(count) || 1;
      this.emit("notice", msg("notice.passwordFailures", { count: n }));
    });
    s.on("media-mode", ({ mode }) => {
      this.modeHeard = true;
      this.setMode(mode === "sfu" ? "sfu" : "mesh");
    });
    s.on("sfu-offer", ({ sdp }) => void this.sfu?.offer(sdp).catch((err) => console.warn("sfu offer", err)));
    s.on("sfu-candidate", ({ direction, candidate }) => void this.sfu?.candidate(direction, candidate));
    // We became host: this token says so, and after a server restart it
    // gives the role back (the one we held still resumes too).
    s.on("resume-token", ({ resumeToken }) => {
      if (typeof resumeToken === "string" && resumeToken) this.resumeToken = resumeToken;
    });
    s.on("recording", (e) => this.serverRecordingChanged(e));
    s.on("recording-composed", (e) => {
      if (e && typeof e.id === "string") this.emit("recording-composed", { id: e.id, ok: e.ok === true, error: String(e.error ?? "") });
    });
    s.on("signaling-error", (e) => {
      console.warn("signaling error", e);
      if (e?.code === "shutting-down") this.emit("notice", describeError("shutting-down"));
    });
  }

  private serverRecordingChanged(e: ServerRecordingEvent): void {
    if (!e || typeof e.active !== "boolean") return;
    this.recordingHeard = true;
    const active = e.active;
    const first = firstRecordingNotice(this.recordingNoticed, active);
    this.recordingNoticed = active;
    this.serverRecordingActive = active;
    this.emit("server-recording", { active, by: typeof e.by === "string" ? e.by : undefined, reason: typeof e.reason === "string" ? e.reason : undefined, first });
  }

  // Server recording, for the host; the server refuses anyone else.
  startServerRecording() {
    return this.sig.request("recording-start", {});
  }
  stopServerRecording() {
    return this.sig.request("recording-stop", {});
  }
  async listRecordings(): Promise<RecordingListing[]> {
    const r = await this.sig.request<{ recordings?: RecordingListing[] }>("recording-list", {});
    return Array.isArray(r.recordings) ? r.recordings : [];
  }

  private setWaiting(on: boolean): void {
    this.waiting = on;
    this.emit("waiting", on);
  }

  private async rejoin(): Promise<void> {
    if (this.rejoinRunning) return;
    this.rejoinRunning = true;
    this.recordingHeard = false;
    try {
      this.modeHeard = false;
      const res = await this.sig.join({ room: this.room, name: this.name, password: this.password, resume: this.resumeToken, sfu: true, ...this.tokenField() });
      const link = this.sfu;
      this.rejoined();
      if (res.waiting) {
        // The token rotates on every join, resumes included.
        this.selfId = res.id;
        this.resumeToken = res.resumeToken;
        this.setWaiting(true);
        return;
      }
      this.entered(res);
      if (link && this.sfu === link) void this.checkSfu(link);
      this.emit("notice", msg("notice.reconnected"));
    } catch (err) {
      const code = err instanceof SignalingError ? err.code : "error";
      if (code === "timeout") {
        // Try again while the socket stays up (the next reconnect does too).
        this.rejoinRunning = false;
        this.rejoinTimer = setTimeout(() => {
          if (this.sig.state === "connected" && this.rejoining && !this.ended) void this.rejoin();
        }, rejoinRetryMs);
        return;
      }
      this.rejoined();
      this.end("error", describeError(code, err instanceof Error ? err.message : ""));
    } finally {
      this.rejoinRunning = false;
    }
  }

  /** rejoined: the meeting has us back (or never will): the connection is what the socket's is. */
  private rejoined(): void {
    this.rejoining = false;
    clearTimeout(this.rejoinTimer);
    this.emit("connection", this.connection);
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
    if (m.type === "sfu-shown") {
      const p = [...this.participants.values()].find((x) => x.peer === from);
      if (p) {
        p.peerSfuShown = true;
        this.closeDirectWhenBothShowSfu(p);
      }
      return;
    }
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
    this.emit("notice", msg("notice.joined", { name: isolate(String(info.name)) }));
    const connect = () => {
      // In the SFU the newcomer's media comes through the server.
      if (this.mode === "sfu") return;
      if (this.participants.get(info.id) === p && !p.peer && !this.ended) this.createPeer(p, true);
    };
    // Right after a server restart this may be someone we are still
    // connected to under their old id: give them time to say so.
    if (this.stale.size > 0) setTimeout(connect, remapWaitMs);
    else connect();
  }

  private handChanged(e: { id: string; raised: boolean; at?: number; by?: string }): void {
    if (!e || typeof e.id !== "string") return;
    const rest = this.hands.filter((x) => x.id !== e.id);
    this.hands = e.raised ? [...rest, { id: e.id, at: Number(e.at) || Date.now() }] : rest;
    this.emit("hands", { hands: this.hands, id: e.id, raised: !!e.raised, by: e.by });
  }

  /** handRaised reports whether participant id has a hand up. */
  handRaised(id = this.selfId): boolean {
    return this.hands.some((x) => x.id === id);
  }

  raiseHand(raised: boolean) {
    return this.sig.request("raise-hand", { raised });
  }
  lowerHand(id: string) {
    return this.sig.request("lower-hand", { id });
  }
  react(emoji: string) {
    return this.sig.request("reaction", { emoji });
  }

  private setSpotlight(id: string): void {
    if (id === this.spotlight) return;
    this.spotlight = id;
    this.emit("spotlight", id);
  }

  /** spotlightOn asks the server to put id on everyone's stage ("" ends it); host only. */
  spotlightOn(id: string) {
    return this.sig.request("spotlight", { id });
  }

  private userLeft(id: string): void {
    const p = this.participants.get(id);
    if (!p || p.self) return;
    if (this.handRaised(id)) this.handChanged({ id, raised: false });
    if (this.spotlight === id) this.setSpotlight("");
    this.participants.delete(id);
    p.peer?.close();
    this.emit("participant-removed", p);
    this.emit("notice", msg("notice.left", { name: isolate(p.name) }));
  }

  private addParticipant(info: PeerInfo, self: boolean): Participant {
    const p: Participant = {
      id: info.id,
      name: String(info.name ?? t("common.guest")),
      audio: info.audio !== false,
      video: info.video !== false,
      screen: !!info.screen,
      recording: !!info.recording,
      self,
      stream: self ? this.local.view : new MediaStream(),
      screenStream: self ? this.local.screenView : undefined,
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
    if (!p) p = this.addParticipant({ id, name: t("common.guest"), audio: true, video: true, screen: false, recording: false }, false);
    return p.peer ?? this.createPeer(p, false);
  }

  private createPeer(p: Participant, initiator: boolean): Peer {
    const peer: Peer = new Peer({
      selfId: this.selfId,
      peerId: p.id,
      config: this.rtcConfig,
      localStream: this.local.view,
      screenStream: this.local.screenView,
      localTrack: (kind) => this.local.track(kind),
      signal: (event, payload) => this.sig.emit(event, payload),
      onMessage: (msg) => this.peerMessage(peer, msg),
      onTrack: () => {
        if (this.mode === "mesh") this.useDirectStreams(p, peer);
        this.emit("participant-updated", p);
      },
      onState: (state) => {
        // A connection that broke during a server restart will not be re-keyed.
        if (state === "failed" || state === "closed") this.stale.delete(p.id);
      },
    });
    p.peer = peer;
    p.sfuShown = p.peerSfuShown = false;
    this.useDirectStreams(p, peer);
    if (initiator) peer.start();
    this.emit("participant-updated", p);
    return peer;
  }

  /**
   * useDirectStreams shows what p's direct connection carries, except
   * where the SFU still carries p: coming back from the SFU, its stream
   * stays in the tile until the direct one has a picture (leaveSfu). A
   * track arrives with the remote description, before the connection is
   * even up, and the tile showed nothing for 1.5-3 s on a busy machine.
   */
  private useDirectStreams(p: Participant, peer: Peer): void {
    if (!p.sfuStream) p.stream = peer.stream;
    if (!p.sfuScreenStream) p.screenStream = peer.screenStream;
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

  /** The server of the signaling, which serves the files too; undefined: this page's. */
  private readonly serverBase: string | undefined;

  /** mayShareFiles: the server takes files and we are no viewer. */
  get mayShareFiles(): boolean {
    return this.fileMaxBytes > 0 && this.role !== "viewer";
  }

  /**
   * shareFile uploads a file; the server posts its chat message to
   * everyone. A file over the server's limit is refused here, before a
   * byte is sent; the server checks again. Throws FileError.
   */
  async shareFile(file: File, onProgress: (sent: number) => void = () => {}): Promise<ChatFile> {
    if (file.size > this.fileMaxBytes) throw new FileError("file-too-large");
    return uploadFile(this.serverBase ?? window.location.origin, this.room, this.resumeToken, file, onProgress);
  }

  /** downloadFile saves a shared file (we must still be in the meeting). Throws FileError. */
  async downloadFile(f: ChatFile): Promise<void> {
    await downloadFile(this.serverBase ?? window.location.origin, this.room, this.resumeToken, f);
  }

  private localChanged(): void {
    for (const p of this.participants.values()) {
      if (!p.peer) continue;
      for (const kind of ["audio", "video", "screen"] as const) void p.peer.setTrack(kind, this.local.track(kind));
    }
    if (this.sfu) void this.sfu.publish(this.sending(), this.local.view, this.local.screenView);
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
    this.sfu?.setConfiguration(this.rtcConfig);
    for (const p of this.participants.values()) {
      try {
        p.peer?.pc.setConfiguration(this.rtcConfig);
      } catch (err) {
        console.warn("setConfiguration", err);
      }
    }
    clearTimeout(this.iceTimer);
    clearTimeout(this.rejoinTimer);
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

  /**
   * setMode follows the server's choice of path. Each move keeps the old
   * path until the new one carries a participant's media, so tiles do not
   * go black: into the SFU, a participant's direct connection closes once
   * the SFU sends its tracks; back to the mesh, the SFU closes once every
   * direct connection is up.
   */
  private setMode(mode: MediaMode, receiveFirst = false): void {
    if (this.ended || mode === this.mode) return;
    this.mode = mode;
    if (mode === "mesh") this.emit("active-speaker", null);
    if (mode === "sfu") this.enterSfu(receiveFirst);
    else this.leaveSfu();
  }

  /**
   * checkSfu runs after a rejoin while we hold SFU connections: the server
   * that has us back may not be the one they lead to (in a cluster, the
   * meeting's home died and another node took it over; or the server
   * restarted). It asks with sfu-view, which that server needs anyway:
   * not-in-sfu says it holds no SFU connection of ours, so ours lead to a
   * dead SFU. In SFU mode we publish and subscribe anew at once; in the
   * mesh the next move to the SFU starts afresh instead of reusing them.
   */
  private async checkSfu(link: SfuLink): Promise<void> {
    try {
      await this.sig.request("sfu-view", { views: this.views });
    } catch (err) {
      if (!(err instanceof SignalingError) || err.code !== "not-in-sfu" || this.sfu !== link || this.ended) return;
      this.sfuLost = link;
      if (this.mode === "sfu") this.enterSfu();
    }
  }

  /** enterSfu: receiveFirst for a join into a meeting already on the SFU. */
  private enterSfu(receiveFirst = false): void {
    clearTimeout(this.sfuLeaveTimer);
    if (this.sfu && this.sfu === this.sfuLost) {
      console.info("sfu: the server lost our connections, publishing again");
      this.closeSfu();
    }
    if (!this.sfu) {
      this.sfu = new SfuLink({
        config: this.rtcConfig,
        signal: { request: (e, p) => this.sig.request(e, p), send: (e, p) => this.sig.emit(e, p) },
        onTrack: (id, track, stream) => this.sfuTrack(id, track, stream),
      });
      // Ask for the others' media at once: the server's offer then
      // crosses our publishing offer instead of waiting for it, which
      // takes the browser a few hundred ms to make on a busy machine.
      this.sfu.subscribe().catch((err) => console.warn("sfu subscribe", err));
    }
    const link = this.sfu;
    // A joiner into a meeting on the SFU sets up its receiving connection
    // before its sending one: both at once share the page's WebRTC thread
    // and the CPU (three simulcast encoders starting), and the joiner,
    // who waits looking at the screen, saw the others later.
    const ready = receiveFirst ? link.received(receiveFirstMaxMs) : Promise.resolve();
    void ready
      .then(async () => {
        if (this.sfu !== link) return; // left the SFU, or lost it, meanwhile
        await link.publish(this.sending(), this.local.view, this.local.screenView);
        if (this.views.length > 0) this.sig.emit("sfu-view", { views: this.views });
      })
      .catch((err) => {
        console.warn("sfu publish", err);
        this.emit("notice", msg("notice.sfuFailed"));
      });
  }

  /** sending is what we send on each of our sections. */
  private sending(): Record<"audio" | "video" | "screen", MediaStreamTrack | null> {
    return { audio: this.local.track("audio"), video: this.local.track("video"), screen: this.local.track("screen") };
  }

  /** sfuTrack: the SFU sends a participant's media; its direct path may go. */
  private sfuTrack(id: string, track: MediaStreamTrack, stream: MediaStream): void {
    if (id.endsWith(screenSuffix)) return this.sfuScreen(id.slice(0, -screenSuffix.length), track, stream);
    const p = this.participants.get(id);
    if (!p || p.self) return;
    p.sfuStream = stream;
    if (this.mode !== "sfu") return;
    // Switch the tile once the new path shows a picture: a direct
    // connection still carries this participant meanwhile, so the tile
    // never waits on a black frame. A participant without video switches
    // on its audio.
    // Without a direct connection there is nothing to keep showing: the
    // tile takes the stream at once (waiting for a decoded frame first
    // cost the player's start twice).
    if (!p.peer) this.useSfuStream(p, stream);
    else if (track.kind === "video") void firstFrame(track).then(() => this.useSfuStream(p, stream));
    else if (!p.video) this.useSfuStream(p, stream);
  }

  /**
   * sfuScreen: the SFU sends a participant's screen. While the screen is
   * shared over a direct connection, the stage keeps it until the SFU's
   * shows a picture.
   */
  private sfuScreen(id: string, track: MediaStreamTrack, stream: MediaStream): void {
    const p = this.participants.get(id);
    if (!p || p.self) return;
    p.sfuScreenStream = stream;
    const use = () => {
      if (this.mode !== "sfu" || p.sfuScreenStream !== stream) return;
      p.screenStream = stream;
      this.emit("participant-updated", p);
    };
    if (this.mode !== "sfu") return;
    if (p.peer && p.screen) void firstFrame(track).then(use);
    else use();
  }

  /** useSfuStream shows what the SFU sends of p, then lets its direct path go. */
  private useSfuStream(p: Participant, stream: MediaStream): void {
    if (this.mode !== "sfu" || p.sfuStream !== stream || p.stream === stream) return;
    p.stream = stream;
    this.emit("participant-updated", p);
    const peer = p.peer;
    if (!peer) return;
    p.sfuShown = true;
    peer.send({ type: "sfu-shown" });
    this.closeDirectWhenBothShowSfu(p);
    setTimeout(() => this.closeDirect(p, peer), directCloseFallbackMs);
  }

  /** closeDirectWhenBothShowSfu closes p's direct connection once both ends show each other through the SFU. */
  private closeDirectWhenBothShowSfu(p: Participant): void {
    const peer = p.peer;
    if (peer && p.sfuShown && p.peerSfuShown) setTimeout(() => this.closeDirect(p, peer), pathOverlapMs);
  }

  private closeDirect(p: Participant, peer: Peer): void {
    if (this.mode === "sfu" && p.peer === peer) {
      peer.close();
      p.peer = undefined;
      p.sfuShown = p.peerSfuShown = false;
    }
  }

  private leaveSfu(): void {
    for (const p of this.participants.values()) {
      if (p.self || p.peer) continue;
      // Both sides get media-mode; the lower id offers, and the other
      // makes its connection when the offer comes, as a newcomer does (a
      // connection made early would offer too, for its data channel).
      if (this.selfId < p.id) this.createPeer(p, true);
    }
    clearTimeout(this.sfuLeaveTimer);
    const started = Date.now();
    const check = () => {
      if (this.mode !== "mesh") return;
      const remote = [...this.participants.values()].filter((p) => !p.self);
      const up = remote.every((p) => p.peer?.pc.connectionState === "connected");
      if (!up && Date.now() - started < 10_000) {
        this.sfuLeaveTimer = setTimeout(check, 250);
        return;
      }
      this.sfuLeaveTimer = setTimeout(() => {
        if (this.mode !== "mesh") return;
        // Each tile takes its direct stream once that shows a picture (a
        // connected path's encoder may not have sent one yet on a busy
        // machine), and the SFU goes once every tile has.
        const switched = remote.map(async (p) => {
          const video = p.peer?.stream.getVideoTracks()[0];
          if (video && p.video) await firstFrame(video, directFrameWaitMs);
          if (this.mode !== "mesh") return;
          p.sfuStream = p.sfuScreenStream = undefined;
          if (p.peer) [p.stream, p.screenStream] = [p.peer.stream, p.peer.screenStream];
          this.emit("participant-updated", p);
        });
        // The SFU goes a moment after the last switch: a tile puts the
        // direct stream in a new element, which shows it at its next
        // frame, and the old element must not lose its picture before.
        void Promise.all(switched).then(() => {
          this.sfuLeaveTimer = setTimeout(() => {
            if (this.mode !== "mesh") return;
            this.closeSfu();
            if (this.sig.state === "connected") this.sig.emit("sfu-leave", {});
          }, tileSwapMs);
        });
      }, pathOverlapMs);
    };
    check();
  }

  /**
   * setViews tells the SFU how the page shows each participant (see
   * views.ts); the latest report is sent again when the SFU starts, and
   * after a rejoin (checkSfu): not while the meeting is away, when the
   * server would refuse it.
   */
  setViews(views: View[]): void {
    this.views = views;
    if (this.sfu && this.connection === "connected") this.sig.emit("sfu-view", { views });
  }

  /** sfuConnections are the SFU's two connections while in use (tests, stats). */
  sfuConnections(): RTCPeerConnection[] {
    return this.sfu ? [this.sfu.pub, this.sfu.sub] : [];
  }

  private closeSfu(): void {
    clearTimeout(this.sfuLeaveTimer);
    this.sfu?.close();
    this.sfu = undefined;
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
    this.end("left", msg("ended.left"));
  }

  /** abandon drops a join that failed, keeping the local tracks for a retry. */
  abandon(): void {
    this.ended = true;
    clearTimeout(this.iceTimer);
    clearTimeout(this.rejoinTimer);
    this.closeSfu();
    this.unsubscribeLocal();
    this.sig.close();
    this.clear();
  }

  private end(reason: EndReason, message: Msg): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.iceTimer);
    clearTimeout(this.rejoinTimer);
    this.closeSfu();
    for (const p of this.participants.values()) p.peer?.close();
    this.local.stopAll();
    this.unsubscribeLocal();
    this.sig.close();
    this.emit("ended", { reason, message });
  }
}

/**
 * firstFrame resolves when a video track has a decoded frame to show (or
 * after 3 s, so that a track that stays black still takes over).
 */
export function firstFrame(track: MediaStreamTrack, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve) => {
    const v = document.createElement("video");
    v.muted = true;
    v.playsInline = true;
    v.srcObject = new MediaStream([track]);
    const done = () => {
      clearTimeout(timer);
      v.srcObject = null;
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    // Browsers without requestVideoFrameCallback say "loadeddata" when
    // the first frame is there.
    v.addEventListener("loadeddata", done, { once: true });
    v.requestVideoFrameCallback?.(() => done());
    void v.play().catch(() => {});
  });
}

/**
 * firstRecordingNotice: whether a recording event that says active should
 * show the notice, given whether it was shown since the recording was last
 * off. A reconnect, or an admission, tells again that it is on: once is
 * enough.
 */
export function firstRecordingNotice(noticed: boolean, active: boolean): boolean {
  return active && !noticed;
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
