// Signaling is the typed client side of docs/PROTOCOL.md (dialect A) on the
// official socket.io-client. The client reconnects by itself; Signaling
// only reports the connection state and lets the meeting re-join.
import { io, type Socket } from "socket.io-client";
import type { ChatMessage } from "./chat";

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
  iceServers: RTCIceServer[];
  iceTransportPolicy: RTCIceTransportPolicy;
  /** How the room's media travels now: peer to peer, or through the server. */
  media: MediaMode;
  /** The join token's role (host, guest, viewer); absent without tokens. */
  role?: string;
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
}

type ClientEvents = Record<string, (...args: any[]) => void>;

/** SignalingError is a refusal from the server (see the error codes). */
export class SignalingError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** Seconds until the refusal ends by itself (too-many-attempts). */
    readonly retryAfter = 0,
  ) {
    super(message || code);
    this.name = "SignalingError";
  }
}

/** Codes of a join token refused: no retry helps, only a new link. */
export function isAuthError(code: string): boolean {
  return code.startsWith("auth-");
}

/** Messages people see for the server's error codes. */
export function describeError(code: string, fallback = "", retryAfter = 0): string {
  switch (code) {
    case "room-full":
      return "This meeting is full.";
    case "invalid-room":
      return "That meeting code is not valid.";
    case "invalid-name":
      return "Please use a shorter name, with letters, digits or symbols, and no invisible or control characters.";
    case "name-taken":
      return "That is the host's name. Please choose another.";
    case "too-many-attempts":
      return retryAfter > 0
        ? `Too many wrong passwords. Try again in ${retryAfter < 90 ? `${retryAfter} seconds` : `${Math.ceil(retryAfter / 60)} minutes`}.`
        : "Too many wrong passwords. Try again later.";
    case "locked":
      return "The host has locked this meeting.";
    case "wrong-password":
      return "This meeting needs a password.";
    case "denied":
      return "The host did not let you in.";
    case "removed":
      return "The host removed you from the meeting.";
    case "meeting-ended":
      return "The meeting has been ended.";
    case "meeting-expired":
      return "The meeting has reached its end time.";
    case "auth-required":
      return "This meeting needs an invitation link. Ask the organiser for yours.";
    case "auth-invalid":
      return "This invitation link is not valid. Ask the organiser for a new one.";
    case "auth-expired":
      return "This invitation link has expired. Ask the organiser for a new one.";
    case "auth-wrong-room":
      return "This invitation link is for another meeting.";
    case "auth-used":
      return "This invitation link has already been used. Ask the organiser for a new one.";
    case "viewer":
      return "You are in this meeting as a viewer: you can watch and listen, not speak or chat.";
    case "too-many-rooms":
      return "The server is busy. Try again later.";
    case "too-many-participants":
      return "Your network is in too many meetings at once. Leave one and try again.";
    case "too-many-new-rooms":
      return "Too many new meetings from your network. Try again in a minute.";
    case "not-host":
      return "Only the host can do that.";
    case "rate-limited":
      return "Too many actions at once. Slow down a little.";
    case "shutting-down":
      return "The server is restarting. Reconnecting…";
    case "timeout":
      return "The server did not answer. Check your connection.";
    default:
      return fallback || "Something went wrong.";
  }
}

export type ConnectionState = "connecting" | "connected" | "reconnecting";

const requestTimeoutMs = 10_000;

export class Signaling {
  readonly socket: Socket<ServerEvents, ClientEvents>;
  private stateListeners = new Set<(s: ConnectionState, reconnected: boolean) => void>();
  private everConnected = false;
  state: ConnectionState = "connecting";

  constructor(url?: string) {
    this.socket = io(url ?? window.location.origin, {
      reconnectionDelay: 500,
      reconnectionDelayMax: 3000,
      // Polling first then upgrade works through every proxy; WebSocket
      // first saves a round trip. Try WebSocket, fall back to polling.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
    });
    this.socket.on("connect", () => {
      const reconnected = this.everConnected;
      this.everConnected = true;
      this.setState("connected", reconnected);
    });
    this.socket.on("disconnect", (reason) => {
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
      throw new SignalingError("timeout", describeError("timeout"));
    }
    if (!ack || typeof ack !== "object") throw new SignalingError("bad-response", "The server sent an unexpected answer.");
    if (ack.ok !== true) {
      const code = String(ack.error?.code ?? "error");
      throw new SignalingError(code, String(ack.error?.message ?? code), Number(ack.error?.retryAfter) || 0);
    }
    return ack;
  }

  async join(req: JoinRequest): Promise<JoinResult> {
    const payload: Record<string, string | boolean> = { room: req.room, name: req.name };
    if (req.password) payload.password = req.password;
    if (req.resume) payload.resume = req.resume;
    if (req.sfu) payload.sfu = true;
    if (req.token) payload.token = req.token;
    const ack = await this.request<any>("join-room", payload);
    if (ack.waiting === true) return { waiting: true, id: String(ack.id), resumeToken: String(ack.resumeToken ?? "") };
    return { waiting: false, ...normalizeJoined(ack) };
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
    name: String(a.name ?? "Guest"),
    host: String(a.host ?? ""),
    resumeToken: String(a.resumeToken ?? ""),
    peers: Array.isArray(a.peers) ? a.peers : [],
    chat: Array.isArray(a.chat) ? a.chat : [],
    settings: { locked: !!a.settings?.locked, hasPassword: !!a.settings?.hasPassword, waitingRoom: !!a.settings?.waitingRoom },
    hands: Array.isArray(a.hands) ? a.hands.filter((x: any) => typeof x?.id === "string").map((x: any) => ({ id: x.id, at: Number(x.at) || 0 })) : [],
    iceServers: Array.isArray(a.iceServers) ? a.iceServers : [],
    iceTransportPolicy: a.iceTransportPolicy === "relay" ? "relay" : "all",
    media: a.media === "sfu" ? "sfu" : "mesh",
    role: typeof a.role === "string" ? a.role : undefined,
  };
}
