// signaling-probe connects to the meeting server the way the app does,
// WebSocket first and long-polling second, and reads the ICE servers from
// the ack of a throwaway join. Nothing secret is in the page: the relay
// credentials are minted by the server for this one join.
import { t } from "../i18n";
import { io, type Socket } from "socket.io-client";
import { normalizeJoined } from "../signaling";
import type { ServersProbe, SignalingProbe } from "./results";

const connectTimeoutMs = 5000;
const ackTimeoutMs = 5000;

/** connectWith opens a socket over the given transport, or says why not. */
async function connectWith(transport: "websocket" | "polling", signal: AbortSignal): Promise<{ socket: Socket | null; error: string }> {
  if (signal.aborted) return { socket: null, error: t("check.error.cancelled") };
  const socket = io(window.location.origin, {
    transports: [transport],
    forceNew: true,
    reconnection: false,
    timeout: connectTimeoutMs,
  });
  let timer = 0;
  let stop = () => {};
  const error = await new Promise<string>((resolve) => {
    timer = window.setTimeout(() => resolve("no answer in time"), connectTimeoutMs + 500);
    stop = () => resolve("cancelled");
    signal.addEventListener("abort", stop, { once: true });
    socket.once("connect", () => resolve(""));
    socket.once("connect_error", (err) => resolve(err?.message || t("check.error.refused")));
    // A proxy may accept the upgrade and then hang up before the handshake;
    // the client would only notice at its timeout.
    socket.io.engine?.once("close", (reason: string) => resolve(reason || "connection closed"));
  });
  clearTimeout(timer);
  signal.removeEventListener("abort", stop);
  if (error) {
    socket.disconnect();
    return { socket: null, error };
  }
  return { socket, error: "" };
}

/** probeSignaling tries WebSocket, then polling; it keeps the socket that worked. */
export async function probeSignaling(signal: AbortSignal): Promise<{ probe: SignalingProbe; socket: Socket | null }> {
  const ws = await connectWith("websocket", signal);
  if (ws.socket) return { probe: { websocket: true, polling: null, error: "" }, socket: ws.socket };
  const poll = await connectWith("polling", signal);
  return { probe: { websocket: false, polling: !!poll.socket, error: poll.error || ws.error }, socket: poll.socket };
}

/** checkRoomId is a fresh room nobody else is in: "check-" and 12 letters or digits. */
export function checkRoomId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return "check-" + Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

/**
 * fetchIceServers joins a throwaway room and reads the ICE servers. The
 * caller stays in the room until its relay checks are done (leaveCheckRoom):
 * the server ends a participant's relay credentials when it leaves.
 */
export async function fetchIceServers(socket: Socket): Promise<ServersProbe> {
  try {
    const ack = await socket.timeout(ackTimeoutMs).emitWithAck("join-room", { room: checkRoomId(), name: "Connection check" });
    if (!ack || ack.ok !== true) {
      return { ok: false, error: String(ack?.error?.message ?? ack?.error?.code ?? t("check.error.joinRefused")), servers: [], policy: "all" };
    }
    if (ack.waiting === true) return { ok: false, error: t("check.error.waitingRoom"), servers: [], policy: "all" };
    const joined = normalizeJoined(ack);
    return { ok: true, error: "", servers: joined.iceServers, policy: joined.iceTransportPolicy };
  } catch {
    return { ok: false, error: t("check.error.noAnswer"), servers: [], policy: "all" };
  }
}

/** leaveCheckRoom leaves explicitly, so the room goes at once, not after the reconnect grace. */
export async function leaveCheckRoom(socket: Socket): Promise<void> {
  await socket
    .timeout(ackTimeoutMs)
    .emitWithAck("leave-room")
    .catch(() => undefined);
  socket.disconnect();
}
