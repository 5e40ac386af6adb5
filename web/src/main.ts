// The router: "/" home, "/check" connectivity check, "/{room}" pre-join and
// meeting. Views are plain DOM; each one is disposed when replaced.
import "./style.css";
import { initLanguage, msg, onLanguageChange, text, type Msg } from "./i18n";
import { isRoomId } from "./meeting-code";
import { LocalMedia } from "./local";
import { Meeting } from "./meeting";
import { filesUrl } from "./files";
import { stopStream } from "./media";
import { describeError, isAuthError, Signaling, SignalingError } from "./signaling";
import { type View } from "./ui/dom";
import { endedView } from "./ui/ended";
import { homeView } from "./ui/home";
import { checkView } from "./check/view";
import { embedLanguage, errorText, startEmbed } from "./embed";
import { meetingView } from "./ui/meeting-view";
import { prejoinView, type JoinChoice } from "./ui/prejoin";

const app = document.getElementById("app")!;
let current: View | null = null;
let meeting: Meeting | null = null;
/** The bridge to the page that frames us (external_api.js); null when not embedded. */
const embed = startEmbed();
/** Join tokens from meeting links (?token=), by room, kept out of the address bar. */
const joinTokens = new Map<string, string>();

/**
 * takeToken moves ?token= from the address into joinTokens: the token is
 * sent with the join, and a link copied from the address bar or a
 * screenshot of it does not hand the invitation on.
 */
function takeToken(room: string): void {
  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  if (token === null) return;
  if (token) joinTokens.set(room, token);
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
}

/** The page title, kept in the current language. */
let title: Msg = msg("app.name");
function setTitle(m: Msg): void {
  title = m;
  document.title = text(m);
}
onLanguageChange(() => setTitle(title));

function show(view: View, theme: "light" | "dark"): void {
  current?.dispose();
  current = view;
  document.body.dataset.theme = theme;
  app.replaceChildren(view.el);
  const heading = view.el.querySelector("h1");
  if (heading) heading.setAttribute("tabindex", "-1");
  // The first screen is usable from here: its handlers are on (tests read it).
  if (!performance.getEntriesByName("huddle-interactive").length) performance.mark("huddle-interactive");
}

function navigate(path: string): void {
  if (location.pathname !== path) history.pushState(null, "", path);
  route();
}

function route(notice: Msg | null = null): void {
  if (meeting) {
    void meeting.leave();
    meeting = null;
  }
  early?.close();
  early = null;
  const path = decodeURIComponent(location.pathname.replace(/^\/+|\/+$/g, ""));
  if (path === "") {
    setTitle(msg("app.name"));
    return show(homeView(navigate, notice), "light");
  }
  if (path === "check") {
    setTitle(msg("title.check"));
    return show(checkView(), "light");
  }
  if (!isRoomId(path)) {
    history.replaceState(null, "", "/");
    return show(homeView(navigate, msg("home.badLink")), "light");
  }
  setTitle(msg("title.room", { room: path }));
  takeToken(path);
  showPrejoin(path);
}

/**
 * early is the signaling connection opened with the pre-join screen, so
 * that pressing Join sends the join at once instead of connecting first
 * (a WebSocket handshake: 30-80 ms of every join on a busy machine). The
 * meeting takes it over; it is closed if the screen is left without
 * joining.
 */
let early: Signaling | null = null;

function showPrejoin(room: string, message: Msg | null = null): void {
  early ??= new Signaling();
  const view = prejoinView(room, (choice) => void join(room, choice, view), message, embed?.prejoin());
  show(view, "dark");
}

async function join(room: string, choice: JoinChoice, prejoin: ReturnType<typeof prejoinView>): Promise<void> {
  const local = new LocalMedia(choice.stream, { audioDeviceId: choice.audioDeviceId, videoDeviceId: choice.videoDeviceId }, choice.micOn, choice.camOn);
  const m = new Meeting(room, choice.name, local, undefined, early ?? undefined);
  early = null; // the meeting's now: a join that fails closes it (abandon)
  m.token = joinTokens.get(room) ?? "";
  meeting = m;
  embed?.attach(m);
  exposeTestHook();
  try {
    await m.join(choice.password);
  } catch (err) {
    meeting = null;
    const code = err instanceof SignalingError ? err.code : "error";
    embed?.failed(code, errorText(code, err instanceof Error ? err.message : ""));
    m.abandon();
    if (isAuthError(code)) {
      // No retry helps: only a new invitation link does. A clear screen,
      // never a half-joined meeting.
      stopStream(choice.stream);
      show(endedView(describeError(code, err instanceof Error ? err.message : ""), null, () => navigate("/")), "light");
      return;
    }
    const retryAfter = err instanceof SignalingError ? err.retryAfter : 0;
    prejoin.fail(describeError(code, err instanceof Error ? err.message : "", retryAfter), code === "wrong-password" || code === "too-many-attempts");
    return;
  }
  const view = meetingView(m, {
    speakerId: choice.speakerId,
    onEnded: (message, reason) => {
      meeting = null;
      const again = reason === "left" || reason === "error" ? () => showPrejoin(room) : null;
      show(endedView(message, again, () => navigate("/")), "light");
    },
  });
  show(view, "dark");
}

/**
 * A read-only window into the call for browser tests and for people
 * debugging a call from the console.
 */
function exposeTestHook(): void {
  const hook = {
    get selfId() {
      return meeting?.selfId ?? "";
    },
    get room() {
      return meeting?.room ?? "";
    },
    get connection() {
      return meeting?.connection ?? "disconnected";
    },
    get host() {
      return meeting?.host ?? "";
    },
    peers(): Map<string, RTCPeerConnection> {
      const out = new Map<string, RTCPeerConnection>();
      for (const p of meeting?.participants.values() ?? []) if (p.peer) out.set(p.id, p.peer.pc);
      return out;
    },
    get mode() {
      return meeting?.mode ?? "mesh";
    },
    /** The SFU's publishing and subscribing connections, when in use. */
    sfuConnections(): RTCPeerConnection[] {
      return meeting?.sfuConnections() ?? [];
    },
    /** Which participant each track received through the SFU belongs to. */
    sfuTrackOwners(): Record<string, string> {
      const out: Record<string, string> = {};
      for (const p of meeting?.participants.values() ?? []) for (const t of p.sfuStream?.getTracks() ?? []) out[t.id] = p.id;
      return out;
    },
    participants() {
      return [...(meeting?.participants.values() ?? [])].map(({ id, name, audio, video, screen, recording, self }) => ({ id, name, audio, video, screen, recording, self }));
    },
    /** Asks for the server recordings as this participant: the list, or the refusal's code. */
    async recordingList(): Promise<{ ok: boolean; code?: string; recordings?: unknown[] }> {
      if (!meeting) return { ok: false, code: "no-meeting" };
      try {
        return { ok: true, recordings: await meeting.listRecordings() };
      } catch (err) {
        return { ok: false, code: err instanceof SignalingError ? err.code : String(err) };
      }
    },
    /** Asks for a shared file as this participant (as Download does): the HTTP status and the refusal's code. */
    async fileStatus(id: string): Promise<{ status: number; code?: string }> {
      if (!meeting) return { status: 0, code: "no-meeting" };
      const res = await fetch(filesUrl(location.origin, meeting.room, id), { headers: { "X-Huddle-Token": meeting.resumeToken } });
      const body = res.ok ? null : await res.json().catch(() => null);
      return { status: res.status, code: body?.error?.code };
    },
    localTracks() {
      return meeting
        ? meeting.local.view.getTracks().map((t) => {
            const { noiseSuppression, echoCancellation } = t.getSettings();
            return { kind: t.kind, readyState: t.readyState, enabled: t.enabled, label: t.label, noiseSuppression, echoCancellation };
          })
        : [];
    },
  };
  Object.defineProperty(window, "__huddle", { value: hook, configurable: true });
}

// Links inside the app navigate without reloading.
document.addEventListener("click", (e) => {
  const a = (e.target as Element | null)?.closest?.("a");
  if (!a || a.target || a.hasAttribute("download") || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  navigate(url.pathname);
});
window.addEventListener("popstate", () => route());
window.addEventListener("pagehide", () => {
  if (meeting) {
    meeting.sig.emit("leave-room");
    stopStream(meeting.local.view);
  }
});

exposeTestHook();
// The first page waits for its language (a small download for languages
// other than English), so it never flashes English first.
void initLanguage()
  .then(() => embedLanguage(embed))
  .finally(() => route());
