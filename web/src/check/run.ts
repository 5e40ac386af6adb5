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
  // Only the relays that worked: a blocked one would just slow ICE down.
  const working = relayKinds.flatMap((k) => (r.relay[k] && relayPassed(r.relay[k]!) ? [plan.relays[k]!.server] : []));
  r.roundTrip = working.length > 0 ? await roundTrip(working, { pings: 5, connectTimeoutMs: 10000, echoTimeoutMs: 3000, signal }) : null;
  step(null);
  return r;
}
