// verdict puts the findings of a check into plain words: one row per step
// with a status people can read (not only a colour) and a summary line.
import { currentLanguage, t, type Key } from "../i18n";
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

function title(id: StepId): string {
  switch (id) {
    case "relay-udp":
    case "relay-tcp":
    case "relay-tls":
      return t("check.step.relay", { protocol: kindWords[id.slice(6) as RelayKind] });
    default:
      return t(`check.step.${id}`);
  }
}

/** row is one step's line; label overrides the status's own word. */
function row(id: StepId, status: Status, detail: string, label?: Key): Row {
  return { id, title: title(id), status, label: t(label ?? `check.status.${status}`), detail };
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
  if (s.websocket) return row("signaling", "pass", t("check.signaling.websocket"));
  if (s.polling) return row("signaling", "warn", t("check.signaling.polling"));
  return row("signaling", "fail", s.error ? t("check.signaling.failedWhy", { detail: s.error }) : t("check.signaling.failed"));
}

function serversRow(r: CheckResults): Row {
  const s = r.servers!;
  if (!s.ok) {
    return row("servers", "fail", s.error ? t("check.servers.failedWhy", { detail: s.error }) : t("check.servers.failed"));
  }
  const plan = planFrom(s.servers);
  const turn = (k: RelayKind) => t("check.servers.turnOver", { protocol: kindWords[k] });
  const found = [plan.stun ? "STUN" : "", ...relayKindsOf(plan.relays).map(turn)].filter(Boolean);
  const forced = s.policy === "relay" ? ` ${t("check.servers.relayOnly")}` : "";
  if (found.length === 0) return row("servers", "warn", t("check.servers.none") + forced);
  return row("servers", "pass", t("check.servers.offers", { list: listWords(found) }) + forced);
}

function hostRow(g: GatherProbe): Row {
  if (g.failure) return row("host", "fail", t("check.host.failed", { detail: g.failure }));
  const host = g.candidates.filter((c) => c.type === "host");
  if (host.length === 0) return row("host", "fail", t("check.host.none"));
  const hidden = host.some((c) => isMdnsName(c.address)) ? ` ${t("check.host.mdns")}` : "";
  return row("host", "pass", t("check.host.found", { count: host.length }) + hidden);
}

function srflxRow(r: CheckResults): Row {
  if (r.servers && !r.servers.ok) return notTested("srflx");
  const g = r.srflx;
  if (!g) return row("srflx", "info", t("check.srflx.noStun"), "check.status.notAvailable");
  if (g.failure) return row("srflx", "fail", t("check.srflx.failed", { detail: g.failure }));
  const seen = g.candidates.find((c) => c.type === "srflx");
  if (seen) return row("srflx", "pass", t("check.srflx.found", { address: seen.address }));
  return row("srflx", "info", t("check.srflx.none"), "check.status.noneSeen");
}

// Protocol names are the same in every language.
const kindWords: Record<RelayKind, string> = { udp: "UDP", tcp: "TCP", tls: "TLS" };

function relayKindsOf(relays: Partial<Record<RelayKind, unknown>>): RelayKind[] {
  return (["udp", "tcp", "tls"] as const).filter((k) => relays[k]);
}

function relayRow(r: CheckResults, kind: RelayKind): Row {
  const id = `relay-${kind}` as StepId;
  if (r.servers && !r.servers.ok) return notTested(id);
  const g = r.relay[kind];
  if (!g) {
    if (kind === "tls") return row(id, "info", t("check.relay.noTls"), "check.status.notConfigured");
    return row(id, "fail", t("check.relay.notOffered", { protocol: kindWords[kind] }), "check.status.notAvailable");
  }
  if (relayPassed(g)) return row(id, "pass", t("check.relay.passed", { protocol: kindWords[kind], port: portOf(g.url), ms: Math.round(g.ms) }));
  return row(id, "fail", relayFailure(r, kind, g));
}

function relayFailure(r: CheckResults, kind: RelayKind, g: GatherProbe): string {
  const port = portOf(g.url);
  const protocol = kindWords[kind];
  const why = errorHint(g);
  if (g.failure) return t("check.relay.couldNotRun", { protocol, detail: g.failure });
  if (why) return t("check.relay.answeredBut", { protocol, port, detail: why });
  switch (kind) {
    case "udp": {
      const tcpOk = r.relay.tcp ? relayPassed(r.relay.tcp) : false;
      const tlsOk = r.relay.tls ? relayPassed(r.relay.tls) : false;
      if (tcpOk) return t("check.relay.udpUseTcp", { port });
      if (tlsOk) return t("check.relay.udpUseTls", { port });
      return t("check.relay.udpBlocked", { port });
    }
    case "tcp":
      return t("check.relay.tcpBlocked", { port });
    case "tls":
      return t("check.relay.tlsBlocked", { port });
  }
}

/** errorHint turns a STUN/TURN error code into words, or "" when none fits. */
function errorHint(g: GatherProbe): string {
  const codes = new Set(g.errors.map((e) => e.code));
  for (const code of [401, 403, 486, 508] as const) if (codes.has(code)) return t(`check.hint.${code}`);
  return "";
}

function mediaRow(r: CheckResults): Row {
  if (r.servers && !r.servers.ok) return notTested("media");
  const m = r.roundTrip;
  if (!m) {
    const offered = r.servers ? Object.values(planFrom(r.servers.servers).relays).some(Boolean) : false;
    return row("media", "fail", t(offered ? "check.media.unreachable" : "check.media.noRelay"), "check.status.notAvailable");
  }
  if (m.ok) return row("media", "pass", roundTripWords(m));
  const counts = { received: m.received, count: m.sent };
  return row("media", "fail", m.error ? t("check.media.lostWhy", { ...counts, detail: m.error }) : t("check.media.lost", counts));
}

function roundTripWords(m: RoundTripProbe): string {
  const rtt = median(m.rttMs);
  const p = { received: m.received, count: m.sent, ms: rtt, local: m.localType || "?", remote: m.remoteType || "?" };
  return m.relayProtocol ? t("check.media.okVia", { ...p, protocol: m.relayProtocol.toUpperCase() }) : t("check.media.ok", p);
}

function notTested(id: StepId): Row {
  return row(id, "info", t("check.notTested"), "check.status.notTested");
}

/** relayPassed says whether gathering produced a relay candidate. */
export function relayPassed(g: GatherProbe): boolean {
  return g.candidates.some((c) => c.type === "relay");
}

/** summarize turns finished results into the line at the top. */
export function summarize(r: CheckResults, finished: boolean): Summary {
  if (!finished) return { level: "running", text: t("check.summary.running") };
  const s = r.signaling;
  if (!s || (!s.websocket && !s.polling)) return fail("check.fail.signaling");
  if (!r.servers?.ok) return fail("check.fail.servers");
  if (r.host && r.host.candidates.every((c) => c.type !== "host")) return fail("check.fail.webrtc");

  const configured = (Object.values(r.relay) as (GatherProbe | null | undefined)[]).filter((g): g is GatherProbe => !!g);
  const working = configured.filter(relayPassed);
  if (configured.length > 0 && working.length === 0) {
    return fail("check.fail.relay");
  }
  if (configured.length === 0 && r.servers.policy === "relay") {
    return fail("check.fail.relayOnly");
  }
  if (working.length > 0 && r.roundTrip && !r.roundTrip.ok) return fail("check.fail.media");

  const buts: string[] = [];
  if (!s.websocket) buts.push(t("check.but.polling"));
  if (configured.length === 0) buts.push(t("check.but.noRelay"));
  else if (r.relay.udp && !relayPassed(r.relay.udp)) buts.push(t("check.but.udp"));
  if (buts.length > 0) return { level: "warn", text: t("check.summary.warn", { reasons: buts.join(t("check.but.separator")) }) };
  return { level: "ready", text: t("check.summary.ready") };
}

function fail(why: Key): Summary {
  return { level: "fail", text: t("check.summary.fail", { reason: t(why) }) };
}

/** median of the round trips in whole milliseconds, 0 when none. */
export function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return Math.round(s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2);
}

/** listWords joins "A, B and C" the way the language does (British English: no comma before "and"). */
function listWords(xs: string[]): string {
  const l = currentLanguage();
  return new Intl.ListFormat(l === "en" ? "en-GB" : l, { type: "conjunction" }).format(xs);
}
