// Picture-in-picture: the active speaker (or the screen on the stage) in a
// small window that stays on top while the meeting's tab is hidden, as Meet
// does. Document Picture-in-Picture where the browser has it (a small page
// of our own: the video, the name and a microphone button), the video
// element's own picture-in-picture otherwise. Chrome opens it by itself
// when a calling tab is hidden (the Media Session "enterpictureinpicture"
// action); the layout menu opens it by hand.
import { t } from "../i18n";
import type { Participant } from "../meeting";

export interface PipSource {
  /** Who to show now (see TileGrid.focus). */
  focus(): Participant | null;
  /** The tile's own video element of a participant, for the fallback. */
  videoOf(p: Participant): HTMLVideoElement | null;
  micOn(): boolean;
  toggleMic(): void;
}

interface DocumentPip {
  requestWindow(options?: { width?: number; height?: number }): Promise<Window>;
  window: Window | null;
}

/** The window's own style sheet: it has none of the page's. */
const pipStyle =
      "html,body{margin:0;height:100%;background:#202124;color:#fff;font:14px system-ui,sans-serif;overflow:hidden}" +
      "video{width:100%;height:100%;object-fit:contain;display:block}" +
      ".name{position:fixed;inset-inline-start:8px;bottom:8px;background:rgba(0,0,0,.6);padding:2px 8px;border-radius:4px}" +
      "button{position:fixed;inset-inline-end:8px;bottom:8px;border:0;border-radius:50%;width:36px;height:36px;background:#3c4043;color:#fff;font-size:16px;cursor:pointer}" +
      "button[aria-pressed=false]{background:#ea4335}";

/** How often the window follows the speaker. */
const followMs = 500;

export class Pip {
  private win: Window | null = null;
  private video: HTMLVideoElement | null = null;
  private name: HTMLElement | null = null;
  private mic: HTMLButtonElement | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly src: PipSource) {
    // Chrome asks for the window itself when the tab is hidden in a call.
    try {
      navigator.mediaSession?.setActionHandler("enterpictureinpicture" as MediaSessionAction, () => void this.open());
    } catch {
      // Not a known action in this browser: the menu item remains.
    }
  }

  /** supported says whether this browser can show a picture-in-picture at all. */
  static supported(): boolean {
    return "documentPictureInPicture" in window || !!document.pictureInPictureEnabled;
  }

  get isOpen(): boolean {
    return !!this.win && !this.win.closed;
  }

  /** open shows the window (it must follow a user gesture, or Chrome's own request). */
  async open(): Promise<void> {
    if (this.isOpen) return;
    const dpip = (window as unknown as { documentPictureInPicture?: DocumentPip }).documentPictureInPicture;
    if (!dpip) return this.openVideoPip();
    const win = await dpip.requestWindow({ width: 360, height: 220 });
    this.win = win;
    this.build(win.document);
    win.addEventListener("pagehide", () => this.closed());
    this.follow();
    this.timer = setInterval(() => this.follow(), followMs);
  }

  close(): void {
    this.win?.close();
    this.closed();
    if (document.pictureInPictureElement) void document.exitPictureInPicture().catch(() => {});
  }

  dispose(): void {
    this.close();
    try {
      navigator.mediaSession?.setActionHandler("enterpictureinpicture" as MediaSessionAction, null);
    } catch {
      // See the constructor.
    }
  }

  private closed(): void {
    clearInterval(this.timer);
    this.win = this.video = this.name = this.mic = null;
  }

  /** openVideoPip is the fallback: the tile's own video in the browser's window. */
  private async openVideoPip(): Promise<void> {
    const p = this.src.focus();
    const v = p && this.src.videoOf(p);
    if (v && document.pictureInPictureEnabled) await v.requestPictureInPicture();
  }

  private build(doc: Document): void {
    const style = doc.createElement("style");
    style.textContent = pipStyle;
    doc.head.append(style);
    doc.documentElement.lang = document.documentElement.lang;
    doc.documentElement.dir = document.documentElement.dir;
    doc.title = t("pip.title");
    const video = doc.createElement("video");
    video.autoplay = video.playsInline = video.muted = true; // the meeting's page plays the audio
    const name = doc.createElement("span");
    name.className = "name";
    name.dir = "auto";
    const mic = doc.createElement("button");
    mic.type = "button";
    mic.onclick = () => {
      this.src.toggleMic();
      setTimeout(() => this.follow(), 100);
    };
    doc.body.append(video, name, mic);
    [this.video, this.name, this.mic] = [video, name, mic];
  }

  /** follow shows whoever is in focus now, and the microphone's state. */
  private follow(): void {
    if (!this.isOpen || !this.video || !this.name || !this.mic) return;
    const p = this.src.focus();
    const stream = p?.stream ?? null;
    if (this.video.srcObject !== stream) {
      this.video.srcObject = stream;
      void this.video.play().catch(() => {});
    }
    this.video.dataset.peerId = p?.id ?? "";
    this.name.textContent = p ? p.name : "";
    const on = this.src.micOn();
    this.mic.setAttribute("aria-pressed", String(on));
    this.mic.textContent = on ? "🎤" : "🔇";
    const label = t(on ? "media.micTurnOff" : "media.micTurnOn");
    this.mic.setAttribute("aria-label", label);
    this.mic.title = label;
  }
}
