// Connection quality: counters read from getStats, turned into bars (3
// good, 2 fair, 1 poor, 0 unknown) and a sentence people understand.
// classify and delta are pure (quality.test.ts); readCounters talks to
// the browser.
import { t } from "./i18n";

/** Cumulative counters of one direction of one connection (or one participant's share of it). */
export interface Counters {
  packetsReceived: number;
  packetsLost: number;
  framesDecoded: number;
  /** Seconds; the worst inbound stream's. */
  jitter: number;
  /** Seconds; of the selected candidate pair, or of remote-inbound reports. */
  rtt: number;
  /** Fraction lost reported by the far end for what we send (0..1), -1 unknown. */
  sendLoss: number;
  at: number; // ms
  video: boolean;
}

export interface Sample {
  lossPct: number;
  rttMs: number;
  jitterMs: number;
  /** Frames per second decoded; -1 when no video is expected. */
  fps: number;
}

export interface Quality {
  level: 0 | 1 | 2 | 3;
  text: string;
}

/** delta turns two readings into rates over the time between them. */
export function delta(prev: Counters, cur: Counters): Sample {
  const got = Math.max(0, cur.packetsReceived - prev.packetsReceived);
  const lost = Math.max(0, cur.packetsLost - prev.packetsLost);
  const secs = Math.max(0.001, (cur.at - prev.at) / 1000);
  return {
    lossPct: got + lost > 0 ? (100 * lost) / (got + lost) : 0,
    rttMs: cur.rtt * 1000,
    jitterMs: cur.jitter * 1000,
    fps: cur.video ? Math.max(0, cur.framesDecoded - prev.framesDecoded) / secs : -1,
  };
}

/**
 * classify rates a sample. The thresholds are those where calls start to
 * sound or look broken: a few percent of loss, a quarter of a second of
 * round trip, tens of milliseconds of jitter, a video under 10 frames a
 * second.
 */
export function classify(s: Sample): Quality {
  const loss = { percent: Math.round(s.lossPct) };
  const delay = { ms: Math.round(s.rttMs) };
  const fps = { fps: Math.round(s.fps) };
  if (s.lossPct >= 10) return { level: 1, text: t("quality.poorLoss", loss) };
  if (s.rttMs >= 500) return { level: 1, text: t("quality.poorDelay", delay) };
  if (s.fps >= 0 && s.fps < 5) return { level: 1, text: t("quality.poorFps", fps) };
  if (s.lossPct >= 3) return { level: 2, text: t("quality.unstableLoss", loss) };
  if (s.rttMs >= 250) return { level: 2, text: t("quality.unstableDelay", delay) };
  if (s.jitterMs >= 50) return { level: 2, text: t("quality.unstableJitter", { ms: Math.round(s.jitterMs) }) };
  if (s.fps >= 0 && s.fps < 10) return { level: 2, text: t("quality.unstableFps", fps) };
  return { level: 3, text: t("quality.good") };
}

/**
 * classifySend rates what we send, from the far end's reports. It drives
 * the "your network" banner, which must not cry wolf: a busy computer
 * alone stretches measured round trips to over half a second (seen on a
 * loaded test machine), so delay alone makes it poor only from a second.
 */
export function classifySend(lossFraction: number, rttMs: number): Quality {
  const lossPct = Math.max(0, lossFraction) * 100;
  const q = classify({ lossPct, rttMs, jitterMs: 0, fps: -1 });
  // Loss under 10 % leaves delay as the reason it was rated poor.
  if (q.level === 1 && lossPct < 10 && rttMs < 1000) return { level: 2, text: t("quality.unstableDelay", { ms: Math.round(rttMs) }) };
  return q;
}

/**
 * readCounters sums the inbound streams of pc whose track is in tracks
 * (all of them when tracks is undefined), and reads the round trip and
 * what the far end says of our outbound streams.
 */
export async function readCounters(pc: RTCPeerConnection, tracks?: Set<string>): Promise<Counters> {
  const c: Counters = { packetsReceived: 0, packetsLost: 0, framesDecoded: 0, jitter: 0, rtt: 0, sendLoss: -1, at: Date.now(), video: false };
  const report = await pc.getStats();
  report.forEach((r: any) => {
    if (r.type === "inbound-rtp" && (!tracks || tracks.has(r.trackIdentifier))) {
      c.packetsReceived += r.packetsReceived ?? 0;
      c.packetsLost += Math.max(0, r.packetsLost ?? 0);
      c.jitter = Math.max(c.jitter, r.jitter ?? 0);
      if (r.kind === "video") {
        c.video = true;
        c.framesDecoded += r.framesDecoded ?? 0;
      }
    } else if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded" && typeof r.currentRoundTripTime === "number") {
      c.rtt = Math.max(c.rtt, r.currentRoundTripTime);
    } else if (r.type === "remote-inbound-rtp") {
      if (typeof r.fractionLost === "number") c.sendLoss = Math.max(c.sendLoss, r.fractionLost);
      if (typeof r.roundTripTime === "number") c.rtt = Math.max(c.rtt, r.roundTripTime);
    }
  });
  return c;
}

/**
 * Hysteresis for the "your network" banner: it shows after `after` poor
 * readings in a row and goes after as many good ones, so one bad second
 * does not flash it.
 */
export class Banner {
  shown = false;
  private run = 0;
  constructor(private readonly after = 2) {}
  update(level: Quality["level"]): boolean {
    const bad = level === 1;
    if (bad === this.shown) this.run = 0;
    else if (++this.run >= this.after) {
      this.shown = bad;
      this.run = 0;
    }
    return this.shown;
  }
}
