// MeetingRecorder records the meeting in the browser: every tile is drawn
// onto a canvas in a grid, every audio stream is mixed with WebAudio, and
// MediaRecorder writes WebM. Nothing leaves the browser.
import { t } from "./i18n";
import { audioContext } from "./media";

export interface RecordingSource {
  video: HTMLVideoElement;
  label: string;
  mirrored: boolean;
}

export interface RecorderInputs {
  /** The tiles to draw, read on every frame (people come and go). */
  sources: () => RecordingSource[];
  /** The audio to mix, re-read every second. */
  audioStreams: () => MediaStream[];
}

const width = 1280;
const height = 720;
const fps = 25;

/** pickMimeType returns the best WebM type this browser can record. */
export function pickMimeType(isSupported: (t: string) => boolean): string {
  for (const t of ["video/webm;codecs=vp8,opus", "video/webm;codecs=vp9,opus", "video/webm"]) {
    if (isSupported(t)) return t;
  }
  return "";
}

/** gridFor returns columns and rows that fit n tiles in a 16:9 frame. */
export function gridFor(n: number): { cols: number; rows: number } {
  if (n <= 1) return { cols: 1, rows: 1 };
  if (n === 2) return { cols: 2, rows: 1 };
  if (n <= 4) return { cols: 2, rows: 2 };
  if (n <= 6) return { cols: 3, rows: 2 };
  if (n <= 9) return { cols: 3, rows: 3 };
  const cols = Math.ceil(Math.sqrt(n));
  return { cols, rows: Math.ceil(n / cols) };
}

export class MeetingRecorder {
  private canvas = document.createElement("canvas");
  private ctx2d: CanvasRenderingContext2D;
  private recorder: MediaRecorder | null = null;
  private chunks: Blob[] = [];
  private drawTimer: ReturnType<typeof setTimeout> | undefined;
  private mixTimer: ReturnType<typeof setInterval> | undefined;
  private mixDest: MediaStreamAudioDestinationNode | null = null;
  private mixed = new Map<MediaStream, MediaStreamAudioSourceNode>();
  readonly mimeType: string;

  constructor(private readonly inputs: RecorderInputs) {
    this.canvas.width = width;
    this.canvas.height = height;
    const ctx = this.canvas.getContext("2d");
    if (!ctx) throw new Error("canvas 2d is not available");
    this.ctx2d = ctx;
    this.mimeType = typeof MediaRecorder === "undefined" ? "" : pickMimeType((t) => MediaRecorder.isTypeSupported(t));
  }

  get active(): boolean {
    return this.recorder?.state === "recording";
  }

  start(): void {
    if (this.active) return;
    if (!this.mimeType) throw new Error(t("rec.unsupported"));
    const ac = audioContext();
    this.mixDest = ac.createMediaStreamDestination();
    this.mixAudio();
    this.mixTimer = setInterval(() => this.mixAudio(), 1000);
    this.draw();
    const out = new MediaStream([...this.canvas.captureStream(fps).getVideoTracks(), ...this.mixDest.stream.getAudioTracks()]);
    this.chunks = [];
    this.recorder = new MediaRecorder(out, { mimeType: this.mimeType, videoBitsPerSecond: 2_500_000 });
    this.recorder.ondataavailable = (e) => {
      if (e.data.size > 0) this.chunks.push(e.data);
    };
    this.recorder.start(1000);
  }

  /** stop finishes the file and returns it. */
  stop(): Promise<Blob> {
    const rec = this.recorder;
    if (!rec) return Promise.reject(new Error("not recording"));
    return new Promise((resolve) => {
      rec.onstop = () => {
        this.cleanup();
        resolve(new Blob(this.chunks, { type: "video/webm" }));
      };
      rec.stop();
    });
  }

  private cleanup(): void {
    clearTimeout(this.drawTimer);
    clearInterval(this.mixTimer);
    for (const src of this.mixed.values()) src.disconnect();
    this.mixed.clear();
    this.mixDest?.stream.getTracks().forEach((t) => t.stop());
    this.mixDest = null;
    this.recorder = null;
  }

  private mixAudio(): void {
    if (!this.mixDest) return;
    const ac = audioContext();
    const want = this.inputs.audioStreams().filter((s) => s.getAudioTracks().some((t) => t.readyState === "live"));
    for (const [s, node] of this.mixed) {
      if (!want.includes(s)) {
        node.disconnect();
        this.mixed.delete(s);
      }
    }
    for (const s of want) {
      if (this.mixed.has(s)) continue;
      try {
        const node = ac.createMediaStreamSource(s);
        node.connect(this.mixDest);
        this.mixed.set(s, node);
      } catch (err) {
        console.warn("recorder: cannot mix a stream", err);
      }
    }
  }

  // A timer rather than requestAnimationFrame: rAF stops in background tabs,
  // and a recording must keep going when the window is hidden.
  private draw = (): void => {
    const c = this.ctx2d;
    c.fillStyle = "#202124";
    c.fillRect(0, 0, width, height);
    const sources = this.inputs.sources();
    const { cols, rows } = gridFor(sources.length);
    const gap = 8;
    const cw = (width - gap * (cols + 1)) / cols;
    const ch = (height - gap * (rows + 1)) / rows;
    sources.forEach((s, i) => {
      const x = gap + (i % cols) * (cw + gap);
      const y = gap + Math.floor(i / cols) * (ch + gap);
      c.fillStyle = "#3c4043";
      c.fillRect(x, y, cw, ch);
      const v = s.video;
      if (v.readyState >= 2 && v.videoWidth > 0) {
        const scale = Math.min(cw / v.videoWidth, ch / v.videoHeight);
        const w = v.videoWidth * scale;
        const h = v.videoHeight * scale;
        c.save();
        if (s.mirrored) {
          c.translate(x + cw, 0);
          c.scale(-1, 1);
          c.drawImage(v, (cw - w) / 2, y + (ch - h) / 2, w, h);
        } else {
          c.drawImage(v, x + (cw - w) / 2, y + (ch - h) / 2, w, h);
        }
        c.restore();
      }
      c.font = "20px system-ui, sans-serif";
      c.fillStyle = "rgba(0,0,0,0.55)";
      const tw = c.measureText(s.label).width;
      c.fillRect(x + 8, y + ch - 38, tw + 16, 30);
      c.fillStyle = "#fff";
      c.fillText(s.label, x + 16, y + ch - 16);
    });
    this.drawTimer = setTimeout(this.draw, 1000 / fps);
  };
}

/** downloadBlob saves a blob through a temporary <a download>. */
export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.style.display = "none";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
