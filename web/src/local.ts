// LocalMedia is what this participant sends: microphone, camera and screen
// tracks, their on/off state, and the self-view stream.
import { getTrack, saveAudioProcessing, type AudioProcessing } from "./media";

export interface LocalChoice {
  audioDeviceId?: string;
  videoDeviceId?: string;
}

export class LocalMedia {
  mic: MediaStreamTrack | null;
  camera: MediaStreamTrack | null;
  screen: MediaStreamTrack | null = null;
  /** The self view: microphone plus camera. */
  readonly view = new MediaStream();
  /** Our shared screen, sent beside the camera (empty when not sharing). */
  readonly screenView = new MediaStream();
  private listeners = new Set<() => void>();

  constructor(
    stream: MediaStream,
    public choice: LocalChoice,
    micOn: boolean,
    camOn: boolean,
  ) {
    this.mic = stream.getAudioTracks()[0] ?? null;
    this.camera = stream.getVideoTracks()[0] ?? null;
    if (this.mic) this.mic.enabled = micOn;
    if (this.camera && !camOn) {
      this.camera.stop();
      this.camera = null;
    }
    this.rebuildView();
  }

  get micOn(): boolean {
    return !!this.mic && this.mic.enabled && this.mic.readyState === "live";
  }
  get camOn(): boolean {
    return !!this.camera && this.camera.readyState === "live";
  }
  get sharing(): boolean {
    return !!this.screen;
  }

  /** track is what goes on the wire for a kind: the screen is a track of its own. */
  track(kind: "audio" | "video" | "screen"): MediaStreamTrack | null {
    if (kind === "audio") return this.mic;
    if (kind === "screen") return this.screen;
    return this.camera;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    this.rebuildView();
    for (const fn of this.listeners) fn();
  }

  private rebuildView(): void {
    keep(this.view, [this.mic, this.camera]);
    keep(this.screenView, [this.screen]);
  }

  /** setMic mutes by disabling the track: instant, and the device stays ready. */
  async setMic(on: boolean): Promise<void> {
    if (on && !this.mic) this.mic = await getTrack("audio", this.choice.audioDeviceId);
    if (this.mic) this.mic.enabled = on;
    this.changed();
  }

  /**
   * setAudioProcessing switches noise suppression and echo cancellation
   * during the call: on the live microphone where the browser can, else
   * on a new microphone track that replaces it on every connection.
   */
  async setAudioProcessing(p: AudioProcessing): Promise<void> {
    saveAudioProcessing(p);
    const mic = this.mic;
    if (!mic) return;
    try {
      await mic.applyConstraints({ ...mic.getConstraints(), noiseSuppression: p.noiseSuppression, echoCancellation: p.echoCancellation });
    } catch {
      // Not switchable on a live track here: a new track follows.
    }
    const s = mic.getSettings();
    if (s.noiseSuppression === p.noiseSuppression && s.echoCancellation === p.echoCancellation) return;
    // Chrome shares one processed source between the tracks of a device:
    // a new track gets the new processing only once the old one is gone.
    mic.stop();
    let next: MediaStreamTrack;
    try {
      next = await getTrack("audio", this.choice.audioDeviceId, p);
    } catch (err) {
      next = await getTrack("audio", this.choice.audioDeviceId);
      this.replaceMic(mic, next);
      throw err;
    }
    this.replaceMic(mic, next);
  }

  private replaceMic(old: MediaStreamTrack, next: MediaStreamTrack): void {
    next.enabled = old.enabled;
    if (this.mic !== old) {
      next.stop(); // the microphone changed meanwhile
      return;
    }
    this.mic = next;
    this.changed();
  }

  /** setCamera stops the camera when off, so its light goes out. */
  async setCamera(on: boolean): Promise<void> {
    if (on && !this.camOn) {
      this.camera = await getTrack("video", this.choice.videoDeviceId);
    } else if (!on && this.camera) {
      this.camera.stop();
      this.camera = null;
    }
    this.changed();
  }

  /** startShare asks for a screen; the browser's "Stop sharing" ends it too. */
  async startShare(): Promise<void> {
    if (this.screen) return;
    // The meeting's own tab is left out of the browser's picker: shared,
    // it would show everyone the meeting inside itself, smaller and
    // smaller (the "infinite mirror").
    const options = {
      video: { frameRate: { ideal: 15, max: 30 } },
      audio: false,
      selfBrowserSurface: "exclude",
      surfaceSwitching: "include",
    } as DisplayMediaStreamOptions;
    const s = await navigator.mediaDevices.getDisplayMedia(options);
    const track = s.getVideoTracks()[0];
    if (!track) throw new Error("no screen track");
    track.contentHint = "detail";
    track.addEventListener("ended", () => {
      if (this.screen === track) {
        this.screen = null;
        this.changed();
      }
    });
    this.screen = track;
    this.changed();
  }

  stopShare(): void {
    if (!this.screen) return;
    this.screen.stop();
    this.screen = null;
    this.changed();
  }

  stopAll(): void {
    for (const t of [this.mic, this.camera, this.screen]) t?.stop();
    this.mic = this.camera = this.screen = null;
    this.rebuildView();
  }
}

/** keep makes stream hold exactly these tracks (nulls left out). */
function keep(stream: MediaStream, tracks: (MediaStreamTrack | null)[]): void {
  const want = tracks.filter((t): t is MediaStreamTrack => !!t);
  for (const t of stream.getTracks()) if (!want.includes(t)) stream.removeTrack(t);
  for (const t of want) if (!stream.getTracks().includes(t)) stream.addTrack(t);
}
