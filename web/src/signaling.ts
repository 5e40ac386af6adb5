// Signaling is the typed client side of docs/PROTOCOL.md (dialect A) on the
// official socket.io-client. The client reconnects by itself; Signaling
// only reports the connection state and lets the meeting re-join.
import { io, type Socket } from "socket.io-client";
import type { ChatMessage } from "./chat";
import { msg, t, type Key, type Msg } from "./i18n";

export interface MediaState {
  audio: boolean;
  video: boolean;
  screen: boolean;
  recording: boolean;
}

export interface PeerInfo extends MediaState {
  id: string;
  name: string;
}

export interface RoomSettings {
  locked: boolean;
  hasPassword: boolean;
  waitingRoom: boolean;
}

export interface JoinedRoom {
  id: string;
  room: string;
  name: string;
  host: string;
  resumeToken: string;
  peers: PeerInfo[];
  chat: ChatMessage[];
  settings: RoomSettings;
  /** Raised hands, first raised first. */
  hands: RaisedHand[];
  /** The participant the host put on everyone's stage, or "". */
  spotlight: string;
  iceServers: RTCIceServer[];
  iceTransportPolicy: RTCIceTransportPolicy;
  /** How the room's media travels now: peer to peer, or through the server. */
  media: MediaMode;
  /** The join token's role (host, guest, viewer); absent without tokens. */
  role?: string;
  /** The server records meetings (its host gets the recording events); false: the browser records. */
  serverRecording: boolean;
  /** The largest file the chat takes, in bytes; 0: the server takes no files. */
  fileMaxBytes: number;
}

export type MediaMode = "mesh" | "sfu";

export interface RaisedHand {
  id: string;
  /** When it went up (Unix ms). */
  at: number;
}

/** The reactions the server takes (docs/PROTOCOL.md). */
export const reactions = ["👍", "👏", "😂", "❤️", "🎉", "😮"] as const;

export type JoinResult = ({ waiting: false } & JoinedRoom) | { waiting: true; id: string; resumeToken: string };

export interface JoinRequest {
  room: string;
  name: string;
  password?: string;
  resume?: string;
  /** We speak the sfu-* events: the server may move the room to its SFU. */
  sfu?: boolean;
  /** The join token from the meeting link (?token=), on servers that want one. */
  token?: string;
}

/** Events the server sends, with their payloads. */
export interface ServerEvents {
  "user-joined": (p: PeerInfo) => void;
  "user-left": (p: { id: string }) => void;
  offer: (p: { from: string; offer: RTCSessionDescriptionInit }) => void;
  answer: (p: { from: string; answer: RTCSessionDescriptionInit }) => void;
  "ice-candidate": (p: { from: string; candidate: RTCIceCandidateInit | null }) => void;
  "chat-message": (m: ChatMessage) => void;
  "media-state": (p: { from: string } & Partial<MediaState>) => void;
  "host-changed": (p: { id: string }) => void;
  "room-settings": (s: RoomSettings) => void;
  "waiting-list": (p: { waiting: { id: string; name: string }[] }) => void;
  admitted: (j: JoinedRoom & { ok?: boolean }) => void;
  denied: (e: { code: string; message: string }) => void;
  removed: (p: { by: string; code?: string; message?: string }) => void;
  "mute-request": (p: { from: string }) => void;
  "signaling-error": (e: { event: string; code: string; message: string; retryAfter?: number }) => void;
  "password-failures": (p: { count: number }) => void;
  "media-mode": (p: { mode: MediaMode }) => void;
  "sfu-offer": (p: { type: string; sdp: string }) => void;
  "sfu-candidate": (p: { direction: "publish" | "subscribe"; candidate: RTCIceCandidateInit }) => void;
  "resume-token": (p: { resumeToken: string }) => void;
  hand: (p: { id: string; raised: boolean; at?: number; by?: string }) => void;
  reaction: (p: { id: string; emoji: string }) => void;
  spotlight: (p: { id: string; by?: string }) => void;
  /** The SFU's dominant speaker (from audio levels), while the meeting is on the SFU. */
  "active-speaker": (p: { id: string }) => void;
  /** The server recording started or stopped (reason: it stopped by itself), or is on as we join. */
  recording: (p: ServerRecordingEvent) => void;
  /** To the host: the playable file of a server recording is made, or why not. */
  "recording-composed": (p: { id: string; ok: boolean; error?: string }) => void;
}

export interface ServerRecordingEvent {
  active: boolean;
  by?: string;
  reason?: string;
}

/** One server recording as recording-list gives it to the host (docs/PROTOCOL.md). */
export interface RecordingListing {
  id: string;
  started: string;
  stopped?: string;
  reason?: string;
  participants: { id: string; name?: string }[];
  tracks: { file: string; participant: string; kind: string }[];
  composed?: string;
  composeError?: string;
  files: { name: string; size: number; url: string }[];
}

type ClientEvents = Record<string, (...args: any[]) => void>;

/** SignalingError is a refusal from the server (see the error codes). */
export class SignalingError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** Seconds until the refusal ends by itself (too-many-attempts). */
    readonly retryAfter = 0,
    /** moved: the node serving the meeting and the load balancer's cookie that routes there. */
    readonly moved?: { node: string; cookie: string },
  ) {
    super(message || code);
    this.name = "SignalingError";
  }
}

/** Codes of a join token refused: no retry helps, only a new link. */
export function isAuthError(code: string): boolean {
  return code.startsWith("auth-");
}

/** The message for each of the server's error codes (docs/PROTOCOL.md). */
const errorKeys: Record<string, Key> = {
  "room-full": "error.roomFull",
  "invalid-room": "error.invalidRoom",
  "invalid-name": "error.invalidName",
  "name-taken": "error.nameTaken",
  locked: "error.locked",
  "wrong-password": "error.wrongPassword",
  denied: "error.denied",
  removed: "error.removed",
  "meeting-ended": "error.meetingEnded",
  "meeting-expired": "error.meetingExpired",
  "auth-required": "error.authRequired",
  "auth-invalid": "error.authInvalid",
  "auth-expired": "error.authExpired",
  "auth-wrong-room": "error.authWrongRoom",
  "auth-used": "error.authUsed",
  viewer: "error.viewer",
  "too-many-rooms": "error.tooManyRooms",
  "too-many-participants": "error.tooManyParticipants",
  "too-many-new-rooms": "error.tooManyNewRooms",
  "not-host": "error.notHost",
  "rate-limited": "error.rateLimited",
  "shutting-down": "error.shuttingDown",
  timeout: "error.timeout",
  "bad-response": "error.badResponse",
  "stream-bad-url": "error.streamBadUrl",
  "stream-bad-key": "error.streamBadKey",
  "stream-private-target": "error.streamPrivate",
  "stream-off": "error.streamOff",
  "stream-busy": "error.streamBusy",
  "recording-off": "error.recordingOff",
  "recording-active": "error.recordingActive",
  "recording-inactive": "error.recordingInactive",
  "recording-disk-full": "error.recordingDiskFull",
  "recording-needs-sfu": "error.recordingNeedsSfu",
};

/**
 * describeError is the message people see for a server error code. An
 * unknown code shows the server's own (English) message, or a generic one.
 */
export function describeError(code: string, fallback = "", retryAfter = 0): Msg {
  if (code === "too-many-attempts") {
    if (retryAfter <= 0) return msg("error.tooManyAttempts");
    return retryAfter < 90 ? msg("error.tooManyAttemptsSeconds", { count: retryAfter }) : msg("error.tooManyAttemptsMinutes", { count: Math.ceil(retryAfter / 60) });
  }
  const key = Object.hasOwn(errorKeys, code) ? errorKeys[code] : undefined;
  if (key) return msg(key);
  return fallback ? msg("error.server", { detail: fallback }) : msg("error.generic");
}

export type ConnectionState = "connecting" | "connected" | "reconnecting";

const requestTimeoutMs = 10_000;

/** A cookie name or value we set: an RFC 6265 token, nothing that adds attributes. */
const cookieToken = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

export class Signaling {
  readonly socket: Socket<ServerEvents, ClientEvents>;
  private stateListeners = new Set<(s: ConnectionState, reconnected: boolean) => void>();
  private everConnected = false;
  /** The connection is being replaced to reach the meeting's home node (move): not a reconnect. */
  private moving = false;
  /**
   * Our cookies go with the connection, so a move can route it: the same
   * origin, and not in a frame (a cross-site frame's cookies are not sent).
   */
  private readonly canMove: boolean;
  state: ConnectionState = "connecting";

  constructor(url?: string) {
    this.canMove = new URL(url ?? window.location.origin, window.location.href).origin === window.location.origin && window.self === window.top;
    this.socket = io(url ?? window.location.origin, {
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
      // Polling first then upgrade works through every proxy; WebSocket
      // first saves a round trip. Try WebSocket, fall back to polling.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
    });
    this.socket.on("connect", () => {
      const reconnected = this.everConnected && !this.moving;
      this.everConnected = true;
      this.setState("connected", reconnected);
    });
    this.socket.on("disconnect", (reason) => {
      if (this.moving) return; // on purpose, and connecting again already
      // "io server disconnect" does not reconnect by itself; a server that
      // restarts says goodbye that way, so reconnect explicitly.
      if (reason === "io server disconnect") this.socket.connect();
      this.setState("reconnecting", false);
    });
  }

  onState(fn: (s: ConnectionState, reconnected: boolean) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  private setState(s: ConnectionState, reconnected: boolean) {
    this.state = s;
    for (const fn of this.stateListeners) fn(s, reconnected);
  }

  on<E extends keyof ServerEvents>(event: E, fn: ServerEvents[E]): void {
    this.socket.on(event, fn as any);
  }

  /** emit sends without waiting (relays: offers, answers, candidates). */
  emit(event: string, payload?: unknown): void {
    if (payload === undefined) this.socket.emit(event);
    else this.socket.emit(event, payload);
  }

  /** request sends with an acknowledgement and throws SignalingError on refusal. */
  async request<T extends object>(event: string, payload?: unknown): Promise<T & { ok: true }> {
    let ack: any;
    try {
      const s = this.socket.timeout(requestTimeoutMs);
      ack = payload === undefined ? await s.emitWithAck(event) : await s.emitWithAck(event, payload);
    } catch {
      throw new SignalingError("timeout", "timeout");
    }
    if (!ack || typeof ack !== "object") throw new SignalingError("bad-response", "bad-response");
    if (ack.ok !== true) {
      const code = String(ack.error?.code ?? "error");
      const e = ack.error ?? {};
      const moved = code === "moved" && typeof e.node === "string" && typeof e.cookie === "string" ? { node: e.node, cookie: e.cookie } : undefined;
      throw new SignalingError(code, String(e.message ?? code), Number(e.retryAfter) || 0, moved);
    }
    return ack;
  }

  async join(req: JoinRequest): Promise<JoinResult> {
    const payload: Record<string, string | boolean> = { room: req.room, name: req.name };
    if (req.password) payload.password = req.password;
    if (req.resume) payload.resume = req.resume;
    if (req.sfu) payload.sfu = true;
    if (req.token) payload.token = req.token;
    // In a cluster, a node that is not the meeting's home sends us there
    // (moved) rather than relay us, when we can follow: a first join (a
    // resume is taken back wherever it lands) on our own origin. Asked
    // once: if the balancer does not follow the cookie, we are relayed.
    if (this.canMove && !req.resume) payload.move = true;
    let ack: any;
    try {
      ack = await this.request<any>("join-room", payload);
    } catch (err) {
      const to = err instanceof SignalingError ? err.moved : undefined;
      if (!to) throw err;
      if (cookieToken.test(to.cookie) && cookieToken.test(to.node)) await this.moveTo(to.node, to.cookie);
      payload.move = false;
      ack = await this.request<any>("join-room", payload);
    }
    if (ack.waiting === true) return { waiting: true, id: String(ack.id), resumeToken: String(ack.resumeToken ?? "") };
    return { waiting: false, ...normalizeJoined(ack) };
  }

  /**
   * moveTo sets the load balancer's routing cookie to node and opens a new
   * connection (a new Engine.IO session, WebSocket or polling), which the
   * balancer routes by it. Not shown as a reconnect.
   */
  private async moveTo(node: string, cookie: string): Promise<void> {
    const secure = window.location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `${cookie}=${node}; path=/; SameSite=Lax${secure}`;
    this.moving = true;
    try {
      await new Promise<void>((resolve, reject) => {
        const connected = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          this.socket.off("connect", connected);
          reject(new SignalingError("timeout", "timeout"));
        }, requestTimeoutMs);
        this.socket.once("connect", connected);
        this.socket.disconnect();
        this.socket.connect();
      });
    } finally {
      this.moving = false;
    }
  }

  close(): void {
    this.stateListeners.clear();
    this.socket.removeAllListeners();
    this.socket.disconnect();
  }
}

/** normalizeJoined fills defaults so the rest of the app can trust the shape. */
export function normalizeJoined(a: any): JoinedRoom {
  return {
    id: String(a.id),
    room: String(a.room ?? ""),
    name: String(a.name ?? t("common.guest")),
    host: String(a.host ?? ""),
    resumeToken: String(a.resumeToken ?? ""),
    peers: Array.isArray(a.peers) ? a.peers : [],
    chat: Array.isArray(a.chat) ? a.chat : [],
    settings: { locked: !!a.settings?.locked, hasPassword: !!a.settings?.hasPassword, waitingRoom: !!a.settings?.waitingRoom },
    hands: Array.isArray(a.hands) ? a.hands.filter((x: any) => typeof x?.id === "string").map((x: any) => ({ id: x.id, at: Number(x.at) || 0 })) : [],
    spotlight: typeof a.spotlight === "string" ? a.spotlight : "",
    iceServers: Array.isArray(a.iceServers) ? a.iceServers : [],
    iceTransportPolicy: a.iceTransportPolicy === "relay" ? "relay" : "all",
    media: a.media === "sfu" ? "sfu" : "mesh",
    role: typeof a.role === "string" ? a.role : undefined,
    serverRecording: a.serverRecording === true,
    fileMaxBytes: typeof a.fileMaxBytes === "number" && a.fileMaxBytes > 0 ? a.fileMaxBytes : 0,
  };
}
