// The raw findings of a connectivity check, before they are put into words
// (verdict.ts). A field left undefined has not been measured yet.

/** The three ways of reaching a TURN relay. */
export type RelayKind = "udp" | "tcp" | "tls";

export const relayKinds: readonly RelayKind[] = ["udp", "tcp", "tls"];

/** SignalingProbe is how Socket.IO reached the server. */
export interface SignalingProbe {
  websocket: boolean;
  /** null when not tried because WebSocket worked. */
  polling: boolean | null;
  /** The last connection error, empty when none. */
  error: string;
}

/** ServersProbe is the outcome of the throwaway join. */
export interface ServersProbe {
  ok: boolean;
  error: string;
  servers: RTCIceServer[];
  policy: RTCIceTransportPolicy;
}

/** CandidateInfo is the part of an ICE candidate the check reports. */
export interface CandidateInfo {
  type: string;
  protocol: string;
  address: string;
  port: number;
}

/** GatherProbe is one round of ICE gathering with one configuration. */
export interface GatherProbe {
  /** The ICE server URL tried, empty for host candidates. */
  url: string;
  candidates: CandidateInfo[];
  /** icecandidateerror events: STUN/TURN error codes (401, 701...). */
  errors: { code: number; text: string }[];
  /** Gathering had not finished when the check gave up waiting. */
  timedOut: boolean;
  /** Milliseconds until the first wanted candidate, or until the end. */
  ms: number;
  /** An exception that stopped gathering, empty when none. */
  failure: string;
}

/** RoundTripProbe is data sent between two local peers through the relay. */
export interface RoundTripProbe {
  ok: boolean;
  sent: number;
  received: number;
  rttMs: number[];
  localType: string;
  remoteType: string;
  /** How this browser reached the relay: udp, tcp or tls. */
  relayProtocol: string;
  error: string;
}

/**
 * CheckResults is everything measured so far. null means "not applicable":
 * no STUN URL, a relay kind the server does not offer, no relay to send
 * media through.
 */
export interface CheckResults {
  signaling?: SignalingProbe;
  servers?: ServersProbe;
  host?: GatherProbe;
  srflx?: GatherProbe | null;
  relay: Partial<Record<RelayKind, GatherProbe | null>>;
  roundTrip?: RoundTripProbe | null;
}

/** The rows of the check, in the order they run. */
export type StepId = "signaling" | "servers" | "host" | "srflx" | "relay-udp" | "relay-tcp" | "relay-tls" | "media";

export const steps: readonly StepId[] = ["signaling", "servers", "host", "srflx", "relay-udp", "relay-tcp", "relay-tls", "media"];
