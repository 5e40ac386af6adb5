// Live streaming, the client side of docs/PROTOCOL.md ("Live streaming"):
// the host starts and stops a stream to an RTMP(S) server; everyone gets
// its status. No UI here: a view calls these and shows StreamStatus.

export type StreamState = "starting" | "live" | "reconnecting" | "failed" | "stopped";

/** A stream's status. `target` (the URL with the key masked) comes only in the host's start ack. */
export interface StreamStatus {
  state: StreamState;
  reason?: string;
  target?: string;
}

/**
 * What these helpers need of Signaling (signaling.ts), so tests can fake it.
 * The socket's event names are `any`: Signaling's socket is typed by its
 * ServerEvents, which need not list stream-status for this to work.
 */
export interface StreamSignaling {
  request<T extends object>(event: string, payload?: unknown): Promise<T & { ok: true }>;
  socket: {
    on(event: any, fn: (p: any) => void): unknown;
    off(event: any, fn: (p: any) => void): unknown;
  };
}

const states: readonly StreamState[] = ["starting", "live", "reconnecting", "failed", "stopped"];

/** normalizeStreamStatus checks a payload from the server; null if it is not a status. */
export function normalizeStreamStatus(p: unknown): StreamStatus | null {
  if (!p || typeof p !== "object") return null;
  const o = p as Record<string, unknown>;
  if (typeof o.state !== "string" || !states.includes(o.state as StreamState)) return null;
  const st: StreamStatus = { state: o.state as StreamState };
  if (typeof o.reason === "string" && o.reason) st.reason = o.reason;
  if (typeof o.target === "string" && o.target) st.target = o.target;
  return st;
}

/** The server's limits (it checks again): a form can refuse early. */
export function checkStreamTarget(url: string, key: string): "stream-bad-url" | "stream-bad-key" | null {
  if (url.length > 512 || !/^rtmps?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(url)) return "stream-bad-url";
  if (key.length > 256 || /[\s/?#]/.test(key)) return "stream-bad-key";
  return null;
}

/** startStream asks the server to stream the meeting (host only); it throws SignalingError on refusal. */
export async function startStream(sig: StreamSignaling, url: string, key: string): Promise<StreamStatus> {
  const ack = await sig.request<{ status?: unknown }>("stream-start", { url, key });
  return normalizeStreamStatus(ack.status) ?? { state: "starting" };
}

/** stopStream stops the meeting's stream (host only). */
export async function stopStream(sig: StreamSignaling): Promise<void> {
  await sig.request("stream-stop", {});
}

/** onStreamStatus calls fn with every stream-status; it returns the unsubscribe. */
export function onStreamStatus(sig: StreamSignaling, fn: (s: StreamStatus) => void): () => void {
  const h = (p: unknown) => {
    const st = normalizeStreamStatus(p);
    if (st) fn(st);
  };
  sig.socket.on("stream-status", h);
  return () => void sig.socket.off("stream-status", h);
}
