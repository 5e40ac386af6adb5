// gather runs ICE gathering with one configuration and collects what comes
// out: candidates, and the errors STUN/TURN servers answered with.
import { parseCandidate } from "./candidate";
import type { CandidateInfo, GatherProbe } from "./results";

export interface GatherOptions {
  /** Give up after this long; gathering may take 10 s when UDP is dropped. */
  timeoutMs: number;
  /** Stop as soon as a candidate of this type appears. */
  until?: CandidateInfo["type"];
  signal: AbortSignal;
}

/** gather creates an offer with a data channel and reports its candidates. */
export async function gather(config: RTCConfiguration, url: string, opts: GatherOptions): Promise<GatherProbe> {
  const probe: GatherProbe = { url, candidates: [], errors: [], timedOut: false, ms: 0, failure: "" };
  if (opts.signal.aborted) return { ...probe, failure: "cancelled" };
  const started = performance.now();
  let pc: RTCPeerConnection;
  try {
    pc = new RTCPeerConnection(config);
  } catch (err) {
    probe.failure = messageOf(err);
    return probe;
  }
  let finish = (_timedOut: boolean) => {};
  const done = new Promise<boolean>((resolve) => (finish = resolve));
  pc.onicecandidate = (e) => {
    if (!e.candidate) return finish(false);
    const c = parseCandidate(e.candidate.candidate);
    if (!c) return;
    probe.candidates.push(c);
    if (c.type === opts.until) finish(false);
  };
  pc.onicecandidateerror = (e) => {
    const ev = e as RTCPeerConnectionIceErrorEvent;
    probe.errors.push({ code: ev.errorCode, text: ev.errorText });
  };
  const timer = window.setTimeout(() => finish(true), opts.timeoutMs);
  const abort = () => finish(false);
  opts.signal.addEventListener("abort", abort, { once: true });
  try {
    pc.createDataChannel("check");
    await pc.setLocalDescription(await pc.createOffer());
    probe.timedOut = await done;
  } catch (err) {
    probe.failure = messageOf(err);
  } finally {
    clearTimeout(timer);
    opts.signal.removeEventListener("abort", abort);
    probe.ms = performance.now() - started;
    pc.close();
  }
  return probe;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
