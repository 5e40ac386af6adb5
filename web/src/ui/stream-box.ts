// The host's live-stream form, in the people panel's host controls: an
// RTMP(S) address and a stream key, Go live and End stream, and the
// stream's state as the server reports it (starting, live, reconnecting,
// failed with the reason). The element is made once and kept, so that a
// re-render of the panel never loses what the host typed.
import type { Meeting } from "../meeting";
import { msg, type Msg } from "../i18n";
import { describeError, SignalingError } from "../signaling";
import { checkStreamTarget, onStreamStatus, startStream, stopStream, type StreamStatus } from "../stream";
import { announce, h, setText } from "./dom";

export class StreamBox {
  readonly el: HTMLElement;
  private status: StreamStatus = { state: "stopped" };
  private url = h("input", { type: "url", id: "stream-url", placeholder: msg("stream.urlExample"), autocomplete: "off", spellcheck: "false", "aria-label": msg("stream.url") });
  private key = h("input", { type: "password", id: "stream-key", autocomplete: "off", "aria-label": msg("stream.key"), placeholder: msg("stream.key") });
  private start = h("button", { type: "submit", class: "small" }, msg("stream.start"));
  private stop = h("button", { type: "button", class: "small danger", onclick: () => void this.end() }, msg("stream.stop"));
  private line = h("p", { class: "stream-state", role: "status" });
  private form: HTMLFormElement;
  private busy = false;
  /** The refusal of the host's last request, shown until the next status. */
  private error: Msg | null = null;

  constructor(private readonly meeting: Meeting) {
    this.form = h("form", { class: "stream-form", onsubmit: (e: Event) => (e.preventDefault(), void this.begin()) }, this.url, this.key, this.start);
    this.el = h("div", { class: "stream-box", id: "stream-box" }, h("h3", {}, msg("stream.title")), this.form, this.line, this.stop);
    this.render();
  }

  /** watch follows the server's stream-status; it returns the unsubscribe. */
  watch(): () => void {
    return onStreamStatus(this.meeting.sig, (s) => this.show(s));
  }

  private show(s: StreamStatus): void {
    const changed = s.state !== this.status.state;
    this.error = null;
    this.status = { ...s, target: s.target ?? (s.state === "stopped" || s.state === "failed" ? undefined : this.status.target) };
    this.render();
    if (changed) announce(describeState(this.status));
  }

  private async begin(): Promise<void> {
    const url = this.url.value.trim();
    const key = this.key.value.trim();
    const bad = checkStreamTarget(url, key);
    if (bad) return this.fail(describeError(bad));
    this.busy = true;
    this.render();
    try {
      this.show(await startStream(this.meeting.sig, url, key));
      this.key.value = ""; // the key is a secret: not kept in the page longer than needed
    } catch (err) {
      this.fail(err instanceof SignalingError ? describeError(err.code, err.message) : msg("common.failed"));
    } finally {
      this.busy = false;
      this.render();
    }
  }

  private async end(): Promise<void> {
    this.busy = true;
    this.render();
    try {
      await stopStream(this.meeting.sig);
    } catch (err) {
      this.fail(err instanceof SignalingError ? describeError(err.code, err.message) : msg("common.failed"));
    } finally {
      this.busy = false;
      this.render();
    }
  }

  private fail(m: Msg): void {
    this.error = m;
    this.render();
    announce(m);
  }

  private render(): void {
    const on = this.status.state === "starting" || this.status.state === "live" || this.status.state === "reconnecting";
    this.form.hidden = on;
    this.stop.hidden = !on;
    this.start.disabled = this.busy;
    this.stop.disabled = this.busy;
    this.el.dataset.state = this.status.state;
    this.line.dataset.state = this.error ? "error" : this.status.state;
    if (this.error) setText(this.line, this.error);
    else setText(this.line, this.status.state === "stopped" && !this.status.reason ? "" : describeState(this.status));
  }
}

/** describeState says a stream's state in words, with the reason of a failure. */
export function describeState(s: StreamStatus): Msg {
  switch (s.state) {
    case "starting":
      return msg("stream.starting");
    case "live":
      return s.target ? msg("stream.liveTo", { target: s.target }) : msg("stream.live");
    case "reconnecting":
      return msg("stream.reconnecting");
    case "failed":
      return msg("stream.failed", { reason: s.reason ?? "" });
    default:
      return msg("stream.stopped");
  }
}
