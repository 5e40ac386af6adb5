// Reads every connection's statistics every two seconds: bars on each
// remote tile, and a banner when our own network is bad.
import type { Meeting, Participant } from "../meeting";
import { Banner, classify, classifySend, delta, readCounters, type Counters, type Quality } from "../quality";

const intervalMs = 2000;

export function watchQuality(meeting: Meeting, show: (p: Participant, q: Quality) => void, ownNetwork: (q: Quality | null) => void): () => void {
  const prev = new Map<string, Counters>();
  const banner = new Banner(3);
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const [pub, sub] = meeting.sfuConnections();
      // Our own network is at fault only when every path suffers: one bad
      // path is more likely the other end's. So the best path counts.
      let sendLoss = Infinity;
      let rtt = Infinity;
      const ours = (c: Counters) => {
        if (c.sendLoss >= 0) sendLoss = Math.min(sendLoss, c.sendLoss);
        if (c.rtt > 0) rtt = Math.min(rtt, c.rtt);
      };
      const seen = new Set<string>();
      for (const p of meeting.participants.values()) {
        if (p.self) continue;
        // In the SFU a participant's media is its share of the subscribing
        // connection; the round trip is ours to the server.
        const viaSfu = meeting.mode === "sfu" && sub && p.sfuStream;
        const pc = viaSfu ? sub : p.peer?.pc;
        if (!pc || pc.connectionState !== "connected") continue;
        const c = await readCounters(pc, viaSfu ? new Set(p.sfuStream!.getTracks().map((t) => t.id)) : undefined);
        c.video = c.video && p.video;
        if (!viaSfu) ours(c);
        const before = prev.get(p.id);
        prev.set(p.id, c);
        seen.add(p.id);
        if (before && c.packetsReceived + c.packetsLost > 0) show(p, classify(delta(before, c)));
      }
      if (pub?.connectionState === "connected") {
        ours(await readCounters(pub));
      }
      for (const id of prev.keys()) if (!seen.has(id)) prev.delete(id);
      const own = Number.isFinite(sendLoss) || Number.isFinite(rtt) ? classifySend(Number.isFinite(sendLoss) ? sendLoss : -1, Number.isFinite(rtt) ? rtt * 1000 : 0) : null;
      ownNetwork(banner.update(own?.level ?? 3) ? own : null);
    } catch (err) {
      console.warn("stats", err);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  return () => clearInterval(timer);
}
