// The embed bridge: when a site named in --embed-origins shows a meeting in
// an iframe (with /external_api.js), this module forwards the meeting's
// events to that page and runs its commands, over postMessage.
//
// Origins are checked both ways. The page is framed only by the sites the
// server names in frame-ancestors (the browser enforces that) and in a meta
// tag (for us). The parent says who it is in ?embed=ORIGIN; we believe it
// only if the server allows that origin and, where the browser tells us
// (location.ancestorOrigins), it is the parent's real one. Then every
// message goes out with that origin as targetOrigin (the browser drops it
// if the parent is anything else), and a command is run only when it comes
// from window.parent with that origin.
//
// The protocol (external_api.js speaks the other side), each message an
// object with huddle: protocol:
//   app → parent  { kind: "ready" }                          listening now
//                 { kind: "event", event, data }              see EmbedEvents
//                 { kind: "result", id, ok: true, data }      a command's answer
//                 { kind: "result", id, ok: false, code }     its refusal
//   parent → app  { kind: "command", id, command, args }      see commands
import type { ChatMessage } from "./chat";
import { languages, setLanguage, text, type Lang } from "./i18n";
import type { Meeting, Participant } from "./meeting";
import { describeError } from "./signaling";

/** The protocol's name and version, in every message both ways. */
export const protocol = "huddle-embed-1";

/** The name of the meta tag the server puts the embed origins in (internal/web). */
export const originsMeta = "huddle-embed-origins";

export const commands = ["toggleAudio", "toggleVideo", "hangup", "sendChat"] as const;
export type Command = (typeof commands)[number];

/** What the parent page hears. */
export interface EmbedEvents {
  /** We are in the meeting (after a waiting room, when there is one). */
  joined: { id: string; name: string; room: string; role: string };
  participantJoined: { id: string; name: string };
  participantLeft: { id: string; name: string };
  chat: { id: string; from: string; name: string; text: string; ts: number };
  /** The meeting is over for us: left (hangup), removed, denied or error. */
  left: { reason: string };
  /** Joining was refused (wrong password, a bad token, ...): a server error code. */
  error: { code: string; message: string };
}

/** How the parent asked to be talked to, from the frame's address. */
export interface EmbedParams {
  parentOrigin: string;
  /** The display name to join with; empty: the person types one. */
  name: string;
  lang: Lang | null;
}

/** The part of a Meeting the bridge uses. */
export type EmbeddedMeeting = Pick<Meeting, "on" | "selfId" | "room" | "name" | "role" | "leave" | "sendChat"> & {
  local: Pick<Meeting["local"], "micOn" | "camOn" | "setMic" | "setCamera">;
};

/** The parent window as the bridge needs it. */
export interface ParentWindow {
  postMessage(message: unknown, targetOrigin: string): void;
}

/** A message event as the bridge reads it. */
export interface IncomingMessage {
  source: unknown;
  origin: string;
  data: unknown;
}

/** The longest chat message a command may send (the server has its own limit too). */
const maxChat = 2000;

/** normalizeOrigin is an origin as browsers write it, or "" if s is none. */
export function normalizeOrigin(s: string): string {
  try {
    const u = new URL(s);
    if (u.protocol !== "http:" && u.protocol !== "https:") return "";
    // Nothing but scheme, host and port: no user, path, query or fragment.
    if (u.href !== `${u.origin}/`) return "";
    return u.origin;
  } catch {
    return "";
  }
}

/** allowedOrigins reads the embed origins the server gave the page. */
export function allowedOrigins(doc: Pick<Document, "querySelector">): string[] {
  const content = doc.querySelector(`meta[name="${originsMeta}"]`)?.getAttribute("content") ?? "";
  return content.split(/\s+/).map(normalizeOrigin).filter(Boolean);
}

/**
 * embedParams decides whether this page talks to a parent: it must be
 * framed, asked to (?embed=ORIGIN), the origin must be one the server
 * allows and, when the browser says who the parent is (ancestor), be that.
 * null: the page is a page like any other.
 */
export function embedParams(search: string, allowed: readonly string[], framed: boolean, ancestor: string | undefined): EmbedParams | null {
  if (!framed) return null;
  const q = new URLSearchParams(search);
  const claimed = q.get("embed");
  if (!claimed) return null;
  const parentOrigin = normalizeOrigin(claimed);
  if (!parentOrigin || !allowed.includes(parentOrigin)) return null;
  if (ancestor !== undefined && normalizeOrigin(ancestor) !== parentOrigin) return null;
  const lang = q.get("lang");
  return {
    parentOrigin,
    name: (q.get("name") ?? "").trim().slice(0, 64),
    lang: lang && (languages as readonly string[]).includes(lang) ? (lang as Lang) : null,
  };
}

/** parseCommand checks a parent's message; null if it is not a command we know. */
export function parseCommand(data: unknown): { id: number; command: Command; args: unknown[] } | null {
  if (!data || typeof data !== "object") return null;
  const m = data as { huddle?: unknown; kind?: unknown; id?: unknown; command?: unknown; args?: unknown };
  if (m.huddle !== protocol || m.kind !== "command") return null;
  if (typeof m.id !== "number" || !Number.isSafeInteger(m.id)) return null;
  if (typeof m.command !== "string" || !(commands as readonly string[]).includes(m.command)) return null;
  return { id: m.id, command: m.command as Command, args: Array.isArray(m.args) ? m.args : [] };
}

/** CommandError refuses a command with a code the parent can act on. */
export class CommandError extends Error {
  constructor(readonly code: "not-joined" | "bad-argument" | "unknown-command" | "failed", message = code) {
    super(message);
  }
}

/**
 * EmbedBridge connects one embedded page to its parent: it hears the
 * meeting it is attached to and runs the parent's commands on it.
 */
export class EmbedBridge {
  private meeting: EmbeddedMeeting | null = null;
  private joined = false;
  private off: (() => void)[] = [];
  /** The prejoin screen joins by itself once, the first time. */
  private autoJoined = false;

  constructor(
    private readonly parent: ParentWindow,
    readonly params: EmbedParams,
  ) {}

  /** start tells the parent we listen; call after adding handle as the message listener. */
  start(): void {
    this.post({ kind: "ready" });
  }

  /** prejoin is how the prejoin screen should behave: prefilled, and joining by itself once. */
  prejoin(): { name: string; autoJoin: boolean } {
    const autoJoin = !this.autoJoined && this.params.name !== "";
    this.autoJoined = true;
    return { name: this.params.name, autoJoin };
  }

  /** attach follows a meeting from before its join (a new one replaces the last). */
  attach(m: EmbeddedMeeting): void {
    this.detach();
    this.meeting = m;
    this.off = [
      m.on("participant-added", (p: Participant) => {
        if (p.self) {
          this.joined = true;
          this.emit("joined", { id: p.id, name: p.name, room: m.room, role: m.role });
        } else {
          this.emit("participantJoined", { id: p.id, name: p.name });
        }
      }),
      m.on("participant-removed", (p: Participant) => {
        if (!p.self) this.emit("participantLeft", { id: p.id, name: p.name });
      }),
      m.on("chat", (c: ChatMessage) => {
        this.emit("chat", { id: String(c.id), from: String(c.from), name: String(c.name), text: c.text, ts: Number(c.ts) || 0 });
      }),
      m.on("ended", ({ reason }) => {
        this.emit("left", { reason });
        this.detach();
      }),
    ];
  }

  /** failed tells the parent that joining was refused. */
  failed(code: string, message: string): void {
    this.emit("error", { code, message });
    this.detach();
  }

  private detach(): void {
    for (const off of this.off) off();
    this.off = [];
    this.meeting = null;
    this.joined = false;
  }

  /**
   * handle is the window's message listener. Anything not from our parent,
   * on its origin, in our protocol is ignored: other frames and extensions
   * post messages too.
   */
  handle(e: IncomingMessage): void {
    if (e.source !== this.parent || e.origin !== this.params.parentOrigin) return;
    const c = parseCommand(e.data);
    if (!c) {
      const d = e.data as { huddle?: unknown; id?: unknown } | null;
      // Our protocol but a command we do not know: say so, so that a
      // newer external_api.js does not wait forever.
      if (d && typeof d === "object" && d.huddle === protocol && typeof d.id === "number") {
        this.post({ kind: "result", id: d.id, ok: false, code: "unknown-command" });
      }
      return;
    }
    this.run(c.command, c.args).then(
      (data) => this.post({ kind: "result", id: c.id, ok: true, data }),
      (err) => {
        const code = err instanceof CommandError ? err.code : "failed";
        this.post({ kind: "result", id: c.id, ok: false, code });
      },
    );
  }

  private async run(command: Command, args: unknown[]): Promise<unknown> {
    const m = this.meeting;
    if (!m || !this.joined) throw new CommandError("not-joined");
    switch (command) {
      case "toggleAudio":
        await m.local.setMic(!m.local.micOn);
        return { audio: m.local.micOn };
      case "toggleVideo":
        await m.local.setCamera(!m.local.camOn);
        return { video: m.local.camOn };
      case "hangup":
        await m.leave();
        return {};
      case "sendChat": {
        const t = args[0];
        if (typeof t !== "string" || t.trim() === "" || t.length > maxChat) throw new CommandError("bad-argument");
        await m.sendChat(t);
        return {};
      }
    }
  }

  private emit<K extends keyof EmbedEvents>(event: K, data: EmbedEvents[K]): void {
    this.post({ kind: "event", event, data });
  }

  private post(m: Record<string, unknown>): void {
    // targetOrigin: the browser delivers only if the parent really is there.
    this.parent.postMessage({ huddle: protocol, ...m }, this.params.parentOrigin);
  }
}

/**
 * startEmbed sets up the bridge when this page is framed by an allowed
 * site that asked for it; null otherwise.
 */
export function startEmbed(): EmbedBridge | null {
  if (typeof window === "undefined" || window.parent === window) return null;
  const ancestors = location.ancestorOrigins;
  const params = embedParams(location.search, allowedOrigins(document), true, ancestors && ancestors.length > 0 ? ancestors[0] : undefined);
  if (!params) return null;
  const bridge = new EmbedBridge(window.parent, params);
  window.addEventListener("message", (e) => bridge.handle(e));
  bridge.start();
  return bridge;
}

/** embedLanguage switches to the language the parent asked for, if any. */
export async function embedLanguage(bridge: EmbedBridge | null): Promise<void> {
  if (bridge?.params.lang) await setLanguage(bridge.params.lang, false).catch(() => {});
}

/** errorText is the refusal of a join in words, for the parent's "error" event. */
export function errorText(code: string, detail: string): string {
  return text(describeError(code, detail));
}
