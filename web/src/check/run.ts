// run performs the checks in order and reports after each step, so the
// page fills in row by row.
import { t } from "../i18n";
import { gather } from "./gather";
import { planFrom } from "./ice-urls";
import { roundTrip } from "./round-trip";
import { relayKinds, type CheckResults, type StepId } from "./results";
import { fetchIceServers, leaveCheckRoom, probeSignaling } from "./signaling-probe";
import { relayPassed } from "./verdict";

/** How long a relay may take to hand out an address before it counts as blocked. */
const relayTimeoutMs = 5000;
const stunTimeoutMs = 5000;
const hostTimeoutMs = 3000;

export type Progress = (results: CheckResults, running: StepId | null) => void;

export async function runCheck(progress: Progress, signal: AbortSignal): Promise<CheckResults> {
  const r: CheckResults = { relay: {} };
  if (!signal.aborted) progress(r, "signaling");
  const { probe, socket } = await probeSignaling(signal);
  try {
    return await checkWith(r, probe, socket, progress, signal);
  } finally {
    // The relay credentials last as long as the check's participant.
    if (socket) void leaveCheckRoom(socket);
  }
}

async function checkWith(
  r: CheckResults,
  probe: Awaited<ReturnType<typeof probeSignaling>>["probe"],
  socket: Awaited<ReturnType<typeof probeSignaling>>["socket"],
  progress: Progress,
  signal: AbortSignal,
): Promise<CheckResults> {
  const step = (id: StepId | null) => {
    if (!signal.aborted) progress(r, id);
  };

  r.signaling = probe;
  if (signal.aborted) return r;
  step("servers");
  r.servers = socket ? await fetchIceServers(socket) : { ok: false, error: t("check.error.noConnection"), servers: [], policy: "all" };

  step("host");
  r.host = await gather({ iceServers: [] }, "", { timeoutMs: hostTimeoutMs, signal });
  if (signal.aborted) return r;

  const plan = planFrom(r.servers.servers);
  step("srflx");
  r.srflx = plan.stun ? await gather({ iceServers: [plan.stun.server] }, plan.stun.url, { timeoutMs: stunTimeoutMs, until: "srflx", signal }) : null;

  for (const kind of relayKinds) {
    if (signal.aborted) return r;
    step(`relay-${kind}`);
    const one = plan.relays[kind];
    r.relay[kind] = one
      ? await gather({ iceServers: [one.server], iceTransportPolicy: "relay" }, one.url, { timeoutMs: relayTimeoutMs, until: "relay", signal })
      : null;
  }
  if (signal.aborted) return r;

  step("media");
  // The first relay that worked, in order of preference (UDP, TCP, TLS):
  // the round trip then says how media would travel, and a busy machine
  // cannot make ICE settle on a slower pair when UDP works.
  const best = relayKinds.find((k) => r.relay[k] && relayPassed(r.relay[k]!));
  r.roundTrip = best ? await roundTrip([plan.relays[best]!.server], { pings: 5, connectTimeoutMs: 10000, echoTimeoutMs: 3000, signal }) : null;
  step(null);
  return r;
}
