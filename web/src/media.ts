// Local media: asking for the camera and microphone with graceful
// fallbacks, listing devices, and measuring audio levels with WebAudio.
import { msg, type Msg } from "./i18n";

export interface MediaChoice {
  audio: boolean;
  video: boolean;
  audioDeviceId?: string;
  videoDeviceId?: string;
}

export interface LocalMediaResult {
  stream: MediaStream;
  /** Why a requested kind is missing, for the person to read. */
  problems: Msg[];
}

// 640x360: in a mesh every participant uploads one copy per peer, so 720p
// to seven peers would not fit most uplinks. Screens keep their resolution.
const videoConstraints: MediaTrackConstraints = {
  width: { ideal: 640 },
  height: { ideal: 360 },
  frameRate: { ideal: 24, max: 30 },
};

/** The browser's voice processing, switched in the meeting's menu and remembered. */
export interface AudioProcessing {
  noiseSuppression: boolean;
  echoCancellation: boolean;
}

const processingKey = "huddle.audio";

export function loadAudioProcessing(store: Pick<Storage, "getItem"> | undefined = globalThis.localStorage): AudioProcessing {
  try {
    const v = JSON.parse(store?.getItem(processingKey) ?? "null");
    return { noiseSuppression: v?.noiseSuppression !== false, echoCancellation: v?.echoCancellation !== false };
  } catch {
    return { noiseSuppression: true, echoCancellation: true };
  }
}

export function saveAudioProcessing(p: AudioProcessing, store: Pick<Storage, "setItem"> | undefined = globalThis.localStorage): void {
  try {
    store?.setItem(processingKey, JSON.stringify(p));
  } catch {
    // Private mode or full storage: the choice lasts for this page only.
  }
}

/** audioConstraintsFor is what getUserMedia is asked for the microphone. */
export function audioConstraintsFor(p: AudioProcessing): MediaTrackConstraints {
  return { echoCancellation: p.echoCancellation, noiseSuppression: p.noiseSuppression, autoGainControl: true };
}

function constraint(base: MediaTrackConstraints, deviceId?: string): MediaTrackConstraints {
  return deviceId ? { ...base, deviceId: { exact: deviceId } } : base;
}

function errorName(err: unknown): string {
  return err instanceof DOMException || err instanceof Error ? err.name : "";
}

/** explainMediaError turns getUserMedia failures into sentences. */
export function explainMediaError(kind: "camera" | "microphone" | "both", err: unknown): Msg {
  switch (errorName(err)) {
    case "NotAllowedError":
    case "SecurityError":
      return msg(`media.denied.${kind}`);
    case "NotFoundError":
    case "OverconstrainedError":
      return msg(`media.notFound.${kind}`);
    case "NotReadableError":
    case "AbortError":
      return msg(`media.inUse.${kind}`);
    default:
      return msg(`media.failed.${kind}`);
  }
}

/**
 * getLocalMedia asks for what was chosen; when both kinds fail together it
 * retries each alone, so a missing camera does not cost the microphone.
 */
export async function getLocalMedia(choice: MediaChoice): Promise<LocalMediaResult> {
  const problems: Msg[] = [];
  const stream = new MediaStream();
  if (!navigator.mediaDevices?.getUserMedia) {
    if (choice.audio || choice.video) problems.push(msg("media.insecure"));
    return { stream, problems };
  }
  const want = (audio: boolean, video: boolean): MediaStreamConstraints => ({
    audio: audio ? constraint(audioConstraintsFor(loadAudioProcessing()), choice.audioDeviceId) : false,
    video: video ? constraint(videoConstraints, choice.videoDeviceId) : false,
  });
  if (choice.audio && choice.video) {
    try {
      return { stream: await navigator.mediaDevices.getUserMedia(want(true, true)), problems };
    } catch {
      // Fall through to one kind at a time to learn which one failed.
    }
  }
  const failures: { kind: "microphone" | "camera"; err: unknown }[] = [];
  for (const kind of ["audio", "video"] as const) {
    if (!choice[kind]) continue;
    try {
      const s = await navigator.mediaDevices.getUserMedia(want(kind === "audio", kind === "video"));
      s.getTracks().forEach((t) => stream.addTrack(t));
    } catch (err) {
      failures.push({ kind: kind === "audio" ? "microphone" : "camera", err });
    }
  }
  const sameCause = failures.length === 2 && errorName(failures[0].err) === errorName(failures[1].err);
  if (sameCause) problems.push(explainMediaError("both", failures[0].err));
  else for (const f of failures) problems.push(explainMediaError(f.kind, f.err));
  return { stream, problems };
}

/** getTrack asks for one new track of a kind (turning the camera back on). */
export async function getTrack(kind: "audio" | "video", deviceId?: string, processing = loadAudioProcessing()): Promise<MediaStreamTrack> {
  const s = await navigator.mediaDevices.getUserMedia(
    kind === "audio"
      ? { audio: constraint(audioConstraintsFor(processing), deviceId) }
      : { video: constraint(videoConstraints, deviceId) },
  );
  return s.getTracks()[0];
}

export interface Devices {
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
  speakers: MediaDeviceInfo[];
}

export async function listDevices(): Promise<Devices> {
  const all = (await navigator.mediaDevices?.enumerateDevices?.()) ?? [];
  return {
    cameras: all.filter((d) => d.kind === "videoinput" && d.deviceId),
    microphones: all.filter((d) => d.kind === "audioinput" && d.deviceId),
    speakers: all.filter((d) => d.kind === "audiooutput" && d.deviceId),
  };
}

export function canChooseSpeaker(): boolean {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}

export function stopStream(stream: MediaStream | null | undefined): void {
  stream?.getTracks().forEach((t) => t.stop());
}

let sharedContext: AudioContext | null = null;

/** audioContext is one context per page (browsers limit how many exist). */
export function audioContext(): AudioContext {
  if (!sharedContext || sharedContext.state === "closed") sharedContext = new AudioContext();
  if (sharedContext.state === "suspended") void sharedContext.resume();
  return sharedContext;
}

/**
 * LevelMeter reads the loudness (0..1) of a stream's audio. It holds an
 * analyser only; nothing is played.
 */
export class LevelMeter {
  private source: MediaStreamAudioSourceNode | null = null;
  private analyser: AnalyserNode | null = null;
  private buf: Float32Array<ArrayBuffer> | null = null;

  constructor(stream: MediaStream) {
    if (stream.getAudioTracks().length === 0) return;
    try {
      const ctx = audioContext();
      this.source = ctx.createMediaStreamSource(stream);
      this.analyser = ctx.createAnalyser();
      this.analyser.fftSize = 512;
      this.buf = new Float32Array(this.analyser.fftSize);
      this.source.connect(this.analyser);
    } catch {
      this.source = null;
    }
  }

  /** level is the RMS of the last few milliseconds, scaled to 0..1. */
  level(): number {
    if (!this.analyser || !this.buf) return 0;
    this.analyser.getFloatTimeDomainData(this.buf);
    let sum = 0;
    for (const v of this.buf) sum += v * v;
    return Math.min(1, Math.sqrt(sum / this.buf.length) * 4);
  }

  close(): void {
    this.source?.disconnect();
    this.analyser?.disconnect();
    this.source = null;
    this.analyser = null;
  }
}
