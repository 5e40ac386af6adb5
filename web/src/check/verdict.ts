// verdict puts the findings of a check into plain words: one row per step
// with a status people can read (not only a colour) and a summary line.
import { isMdnsName } from "./candidate";
import { planFrom, portOf } from "./ice-urls";
import type { CheckResults, GatherProbe, RelayKind, RoundTripProbe, StepId } from "./results";

export type Status = "pass" | "warn" | "fail" | "info" | "running" | "waiting";

export interface Row {
  id: StepId;
  title: string;
  status: Status;
  /** The status in words, shown next to the title. */
  label: string;
  detail: string;
}

export type Level = "ready" | "warn" | "fail" | "running";

export interface Summary {
  level: Level;
  text: string;
}

const titles: Record<StepId, string> = {
  signaling: "Connection to the meeting server",
  servers: "Relay and STUN servers",
  host: "Local network addresses",
  srflx: "Public address (STUN)",
  "relay-udp": "Relay over UDP",
  "relay-tcp": "Relay over TCP",
  "relay-tls": "Relay over TLS",
  media: "Media round trip through the relay",
};

const labels: Record<Status, string> = {
  pass: "Pass",
  warn: "Warning",
  fail: "Fail",
  info: "Info",
  running: "Checking…",
  waiting: "Waiting",
};

function row(id: StepId, status: Status, detail: string, label = labels[status]): Row {
  return { id, title: titles[id], status, label, detail };
}

/** rows describes every step; running names the step under way. */
export function rows(r: CheckResults, running: StepId | null = null): Row[] {
  const pending = (id: StepId) => row(id, id === running ? "running" : "waiting", "");
  return [
    r.signaling ? signalingRow(r) : pending("signaling"),
    r.servers ? serversRow(r) : pending("servers"),
    r.host ? hostRow(r.host) : pending("host"),
    r.srflx !== undefined ? srflxRow(r) : pending("srflx"),
    r.relay.udp !== undefined ? relayRow(r, "udp") : pending("relay-udp"),
    r.relay.tcp !== undefined ? relayRow(r, "tcp") : pending("relay-tcp"),
    r.relay.tls !== undefined ? relayRow(r, "tls") : pending("relay-tls"),
    r.roundTrip !== undefined ? mediaRow(r) : pending("media"),
  ];
}

function signalingRow(r: CheckResults): Row {
  const s = r.signaling!;
  if (s.websocket) return row("signaling", "pass", "Connected over WebSocket.");
  if (s.polling) {
    return row("signaling", "warn", "WebSockets to this server are blocked; the app will fall back to slower long-polling. Long-polling works.");
  }
  const why = s.error ? ` (${s.error})` : "";
  return row("signaling", "fail", `Could not reach the meeting server over WebSocket or long-polling${why}. Check your connection, proxy or firewall.`);
}

function serversRow(r: CheckResults): Row {
  const s = r.servers!;
  if (!s.ok) {
    const why = s.error ? `: ${s.error}` : ".";
    return row("servers", "fail", `The meeting server did not hand out its relay and STUN servers${why}`);
  }
  const plan = planFrom(s.servers);
  const found = [plan.stun && "STUN", plan.relays.udp && "TURN over UDP", plan.relays.tcp && "TURN over TCP", plan.relays.tls && "TURN over TLS"].filter(Boolean);
  const forced = s.policy === "relay" ? " This server sends all call media through its relay, so other people never see your address." : "";
  if (found.length === 0) {
    return row("servers", "warn", `This server offers no STUN or relay servers: calls connect only where a direct path exists.${forced}`);
  }
  return row("servers", "pass", `The server offers ${listWords(found as string[])}.${forced}`);
}

function hostRow(g: GatherProbe): Row {
  if (g.failure) return row("host", "fail", `This browser could not start WebRTC: ${g.failure}.`);
  const host = g.candidates.filter((c) => c.type === "host");
  if (host.length === 0) {
    return row("host", "fail", "No local addresses were found: WebRTC looks disabled or blocked by a browser setting, extension or policy.");
  }
  const hidden = host.some((c) => isMdnsName(c.address)) ? " Your browser hides the IP addresses behind .local names, which is normal." : "";
  return row("host", "pass", `${count(host.length, "local address", "local addresses")} found.${hidden}`);
}

function srflxRow(r: CheckResults): Row {
  if (r.servers && !r.servers.ok) return notTested("srflx");
  const g = r.srflx;
  if (!g) return row("srflx", "info", "This server offers no STUN server, so your public address was not looked up.", "Not available");
  if (g.failure) return row("srflx", "fail", `The STUN check could not run: ${g.failure}.`);
  const seen = g.candidates.find((c) => c.type === "srflx");
  if (seen) return row("srflx", "pass", `Your public address is ${seen.address}: direct connections to people outside your network can work.`);
  return row(
    "srflx",
    "info",
    "No public address seen: you're on the same network as the server, or UDP is blocked. The relay checks below tell which.",
    "None seen",
  );
}

const kindWords: Record<RelayKind, string> = { udp: "UDP", tcp: "TCP", tls: "TLS" };

function relayRow(r: CheckResults, kind: RelayKind): Row {
  const id = `relay-${kind}` as StepId;
  if (r.servers && !r.servers.ok) return notTested(id);
  const g = r.relay[kind];
  if (!g) {
    if (kind === "tls") return row(id, "info", "No TLS relay configured. Only networks that allow nothing but HTTPS need one.", "Not configured");
    return row(id, "fail", `This server offers no relay over ${kindWords[kind]}, so people behind strict firewalls or NAT may not be able to join calls.`, "Not available");
  }
  if (relayPassed(g)) return row(id, "pass", `The relay gave this browser an address over ${kindWords[kind]} (port ${portOf(g.url)}) in ${Math.round(g.ms)} ms.`);
  return row(id, "fail", relayFailure(r, kind, g));
}

function relayFailure(r: CheckResults, kind: RelayKind, g: GatherProbe): string {
  const port = portOf(g.url);
  const why = errorHint(g);
  if (g.failure) return `The relay check over ${kindWords[kind]} could not run: ${g.failure}.`;
  if (why) return `The relay over ${kindWords[kind]} (port ${port}) answered but ${why}.`;
  switch (kind) {
    case "udp": {
      const tcpOk = r.relay.tcp ? relayPassed(r.relay.tcp) : false;
      const tlsOk = r.relay.tls ? relayPassed(r.relay.tls) : false;
      if (tcpOk) return `UDP to port ${port} is blocked; calls will use TCP relay.`;
      if (tlsOk) return `UDP to port ${port} is blocked; calls will use the TLS relay.`;
      return `UDP to port ${port} is blocked, or the relay is not answering.`;
    }
    case "tcp":
      return `TURN over TCP failed: port ${port}/TCP is blocked.`;
    case "tls":
      return `TURN over TLS failed: port ${port}/TCP is blocked, or the relay's certificate is not trusted.`;
  }
}

/** errorHint turns a STUN/TURN error code into words, or "" when none fits. */
function errorHint(g: GatherProbe): string {
  const codes = new Set(g.errors.map((e) => e.code));
  if (codes.has(401)) return "refused the credentials (401): the server's TURN secret or clock may be wrong";
  if (codes.has(403)) return "refused the allocation (403)";
  if (codes.has(486)) return "has no allocations left for you (486)";
  if (codes.has(508)) return "is out of relay ports (508)";
  return "";
}

function mediaRow(r: CheckResults): Row {
  if (r.servers && !r.servers.ok) return notTested("media");
  const m = r.roundTrip;
  if (!m) {
    const offered = r.servers ? Object.values(planFrom(r.servers.servers).relays).some(Boolean) : false;
    const why = offered ? "No relay could be reached, so no media was sent through one." : "This server has no relay, so media through one could not be tried.";
    return row("media", "fail", why, "Not available");
  }
  if (m.ok) return row("media", "pass", roundTripWords(m));
  const why = m.error ? ` ${m.error}` : "";
  return row("media", "fail", `Messages sent through the relay did not come back (${m.received} of ${m.sent}).${why}`);
}

function roundTripWords(m: RoundTripProbe): string {
  const rtt = median(m.rttMs);
  const via = m.relayProtocol ? ` over ${m.relayProtocol.toUpperCase()}` : "";
  return `${m.received} of ${m.sent} messages came back through the relay${via}; round trip ${rtt} ms. Connected pair: ${m.localType || "?"} to ${m.remoteType || "?"}.`;
}

function notTested(id: StepId): Row {
  return row(id, "info", "Not tested: the relay and STUN servers could not be fetched.", "Not tested");
}

/** relayPassed says whether gathering produced a relay candidate. */
export function relayPassed(g: GatherProbe): boolean {
  return g.candidates.some((c) => c.type === "relay");
}

/** summarize turns finished results into the line at the top. */
export function summarize(r: CheckResults, finished: boolean): Summary {
  if (!finished) return { level: "running", text: "Checking your connection…" };
  const s = r.signaling;
  if (!s || (!s.websocket && !s.polling)) return fail("this browser cannot reach the meeting server");
  if (!r.servers?.ok) return fail("the meeting server did not hand out its relay and STUN servers");
  if (r.host && r.host.candidates.every((c) => c.type !== "host")) return fail("WebRTC looks disabled or blocked in this browser");

  const configured = (Object.values(r.relay) as (GatherProbe | null | undefined)[]).filter((g): g is GatherProbe => !!g);
  const working = configured.filter(relayPassed);
  if (configured.length > 0 && working.length === 0) {
    return fail("the relay cannot be reached from your network, so calls through firewalls or NAT will not connect");
  }
  if (configured.length === 0 && r.servers.policy === "relay") {
    return fail("this server sends all media through a relay, and it offers none");
  }
  if (working.length > 0 && r.roundTrip && !r.roundTrip.ok) return fail("media could not pass through the relay");

  const buts: string[] = [];
  if (!s.websocket) buts.push("WebSockets are blocked, so the app falls back to slower long-polling");
  if (configured.length === 0) buts.push("this server has no relay, so calls connect only where a direct path exists");
  else if (r.relay.udp && !relayPassed(r.relay.udp)) buts.push("UDP is blocked, so media goes through the relay over TCP with more delay");
  if (buts.length > 0) return { level: "warn", text: `Calls will work, but ${buts.join("; ")}.` };
  return { level: "ready", text: "Your network is ready for calls." };
}

function fail(why: string): Summary {
  return { level: "fail", text: `Calls may fail: ${why}.` };
}

/** median of the round trips in whole milliseconds, 0 when none. */
export function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return Math.round(s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2);
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function listWords(xs: string[]): string {
  if (xs.length <= 1) return xs.join("");
  return `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`;
}
