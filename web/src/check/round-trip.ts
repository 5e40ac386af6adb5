// round-trip connects two peer connections in this page to each other with
// relay candidates only, so every byte goes out to the relay and back, and
// times data-channel pings over that path.
import { messageOf } from "./gather";
import type { RoundTripProbe } from "./results";

export interface RoundTripOptions {
  pings: number;
  /** How long to wait for the connection, and for each echo. */
  connectTimeoutMs: number;
  echoTimeoutMs: number;
  signal: AbortSignal;
}

export async function roundTrip(servers: RTCIceServer[], opts: RoundTripOptions): Promise<RoundTripProbe> {
  const probe: RoundTripProbe = { ok: false, sent: 0, received: 0, rttMs: [], localType: "", remoteType: "", relayProtocol: "", error: "" };
  const config: RTCConfiguration = { iceServers: servers, iceTransportPolicy: "relay" };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  const cancelled = new Promise<never>((_, reject) => {
    if (opts.signal.aborted) reject(new Error("cancelled"));
    opts.signal.addEventListener("abort", () => reject(new Error("cancelled")), { once: true });
  });
  cancelled.catch(() => undefined);
  try {
    a.onicecandidate = (e) => void b.addIceCandidate(e.candidate ?? undefined).catch(() => undefined);
    b.onicecandidate = (e) => void a.addIceCandidate(e.candidate ?? undefined).catch(() => undefined);
    // The far side echoes every message back.
    b.ondatachannel = (e) => {
      e.channel.onmessage = (m) => e.channel.send(m.data);
    };
    const channel = a.createDataChannel("check", { ordered: true });
    const open = new Promise<void>((resolve) => (channel.onopen = () => resolve()));
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    await Promise.race([open, cancelled, timeout(opts.connectTimeoutMs, "The two test connections could not reach each other through the relay.")]);

    for (let seq = 0; seq < opts.pings; seq++) {
      const sentAt = performance.now();
      const back = new Promise<void>((resolve) => {
        channel.onmessage = (m) => {
          if (m.data === `ping ${seq}`) resolve();
        };
      });
      channel.send(`ping ${seq}`);
      probe.sent++;
      await Promise.race([back, cancelled, timeout(opts.echoTimeoutMs, `Ping ${seq + 1} did not come back.`)]);
      probe.received++;
      probe.rttMs.push(performance.now() - sentAt);
    }
    Object.assign(probe, await selectedPair(a));
    probe.ok = probe.received === probe.sent && probe.sent > 0;
  } catch (err) {
    probe.error = messageOf(err);
  } finally {
    a.close();
    b.close();
  }
  return probe;
}

function timeout(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms));
}

/** selectedPair reads the candidate types of the pair ICE settled on. */
export async function selectedPair(pc: RTCPeerConnection): Promise<Pick<RoundTripProbe, "localType" | "remoteType" | "relayProtocol">> {
  const stats = await pc.getStats();
  let pairId = "";
  stats.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  if (!pairId) {
    // Browsers without selectedCandidatePairId: the nominated pair in use.
    stats.forEach((s) => {
      if (!pairId && s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pairId = s.id;
    });
  }
  const pair = stats.get(pairId);
  const local = pair ? stats.get(pair.localCandidateId) : undefined;
  const remote = pair ? stats.get(pair.remoteCandidateId) : undefined;
  return { localType: local?.candidateType ?? "", remoteType: remote?.candidateType ?? "", relayProtocol: local?.relayProtocol ?? "" };
}
