// candidate reads the SDP form of an ICE candidate (RFC 8839 section 5.1):
// "candidate:<foundation> <component> <protocol> <priority> <address>
// <port> typ <type> ...". Reading the string works in every browser, where
// the RTCIceCandidate fields are not everywhere yet.
import type { CandidateInfo } from "./results";

export function parseCandidate(line: string): CandidateInfo | null {
  const parts = line.trim().replace(/^a=/, "").split(/\s+/);
  if (parts.length < 8 || !parts[0].startsWith("candidate:") || parts[6] !== "typ") return null;
  const port = Number(parts[5]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return null;
  return { protocol: parts[2].toLowerCase(), address: parts[4], port, type: parts[7] };
}

/** isMdnsName says whether a host candidate hides its IP behind a .local name. */
export function isMdnsName(address: string): boolean {
  return address.toLowerCase().endsWith(".local");
}
