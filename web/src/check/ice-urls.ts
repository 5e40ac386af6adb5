// ice-urls sorts the ICE servers of a join ack into what the check tries
// one at a time: the STUN URL and one TURN URL per way of reaching it.
import type { RelayKind } from "./results";

/** IceUrl is one parsed stun:, turn: or turns: URL. */
export interface IceUrl {
  scheme: "stun" | "stuns" | "turn" | "turns";
  host: string;
  port: number;
  transport: "udp" | "tcp";
}

const defaultPorts = { stun: 3478, stuns: 5349, turn: 3478, turns: 5349 } as const;

/**
 * parseIceUrl reads an RFC 7064/7065 URL, or returns null for anything
 * else. Hosts may be names, IPv4 or bracketed IPv6 addresses.
 */
export function parseIceUrl(url: string): IceUrl | null {
  const m = /^(stuns?|turns?):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/i.exec(url.trim());
  if (!m) return null;
  const scheme = m[1].toLowerCase() as IceUrl["scheme"];
  const port = m[3] ? Number(m[3]) : defaultPorts[scheme];
  if (port < 1 || port > 65535) return null;
  const secure = scheme === "turns" || scheme === "stuns";
  const transport = secure ? "tcp" : ((m[4]?.toLowerCase() as "udp" | "tcp" | undefined) ?? "udp");
  return { scheme, host: m[2], port, transport };
}

/** relayKind says how a TURN URL reaches its relay, null for STUN. */
export function relayKind(u: IceUrl): RelayKind | null {
  if (u.scheme === "turns") return "tls";
  if (u.scheme === "turn") return u.transport;
  return null;
}

/** OneServer is an ICE server narrowed to a single URL. */
export interface OneServer {
  url: string;
  port: number;
  server: RTCIceServer;
}

/** IcePlan is what the check gathers with. */
export interface IcePlan {
  stun: OneServer | null;
  relays: Record<RelayKind, OneServer | null>;
}

/** planFrom picks the first STUN URL and the first TURN URL of each kind. */
export function planFrom(servers: RTCIceServer[]): IcePlan {
  const plan: IcePlan = { stun: null, relays: { udp: null, tcp: null, tls: null } };
  for (const s of servers) {
    const urls = typeof s.urls === "string" ? [s.urls] : (s.urls ?? []);
    for (const url of urls) {
      const u = parseIceUrl(url);
      if (!u) continue;
      const one: OneServer = { url, port: u.port, server: { ...s, urls: [url] } };
      const kind = relayKind(u);
      if (kind === null) {
        // STUN needs no credentials; passing none keeps the request plain.
        if (u.scheme === "stun" && !plan.stun) plan.stun = { url, port: u.port, server: { urls: [url] } };
      } else if (!plan.relays[kind]) {
        plan.relays[kind] = one;
      }
    }
  }
  return plan;
}

/** portOf returns the port of an ICE URL, or 0 when it does not parse. */
export function portOf(url: string): number {
  return parseIceUrl(url)?.port ?? 0;
}
