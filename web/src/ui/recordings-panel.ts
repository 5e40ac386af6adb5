// The host's list of the meeting's server recordings, with download links.
// Each link the server signs works once for a few minutes, so the list is
// fetched when the panel opens, and a link clicked a second time fetches
// a fresh one first. (Not a reload after every download: a list redrawn
// under the pointer loses clicks.)
import type { Meeting } from "../meeting";
import { describeError, SignalingError, type RecordingListing } from "../signaling";
import { currentLanguage, msg, type Msg } from "../i18n";
import { h, icon, setText, toast } from "./dom";

/** fileLabel names a recording's file for people: whose track, or what it is. */
export function fileLabel(rec: RecordingListing, file: string): Msg {
  if (file === rec.composed) return msg("rec.fileComposed");
  if (file === "manifest.json") return msg("rec.fileManifest");
  const t = rec.tracks.find((x) => x.file === file);
  if (!t) return msg("error.server", { detail: file });
  const name = rec.participants.find((p) => p.id === t.participant)?.name || t.participant;
  return msg("rec.fileTrack", { name, kind: msg(t.kind === "video" ? "rec.kindVideo" : "rec.kindAudio") });
}

/** duration is m:ss between two times, or "" when it has not ended. */
export function duration(started: string, stopped?: string): string {
  if (!stopped) return "";
  const s = Math.max(0, Math.round((Date.parse(stopped) - Date.parse(started)) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The composed file first, then the tracks, the manifest last. */
function fileOrder(rec: RecordingListing, name: string): number {
  return name === rec.composed ? 0 : name === "manifest.json" ? 2 : 1;
}

export class RecordingsPanel {
  readonly el: HTMLElement;
  private list = h("ul", { class: "recordings-list", id: "recordings-list", "aria-live": "polite" });
  private status = h("p", { class: "panel-note", role: "status" });
  /** Links used already, by recording id and file name. */
  private used = new Set<string>();
  open = false;

  constructor(private readonly meeting: Meeting) {
    const refresh = h("button", { type: "button", class: "ghost", id: "recordings-refresh", onclick: () => void this.load() }, msg("rec.refresh"));
    this.el = h(
      "section",
      { class: "panel recordings-panel", id: "recordings-panel", "aria-label": msg("rec.recordings"), hidden: true },
      h("h2", {}, msg("rec.recordings")),
      h("p", { class: "panel-note" }, msg("rec.listNote")),
      refresh,
      this.status,
      this.list,
    );
  }

  show(open: boolean): void {
    this.open = open;
    this.el.hidden = !open;
    if (open) void this.load();
  }

  /** load asks the server for the list (fresh links) and shows it. */
  async load(): Promise<void> {
    try {
      this.render(await this.meeting.listRecordings());
    } catch (err) {
      const m = err instanceof SignalingError ? describeError(err.code, err.message) : msg("common.failed");
      setText(this.status, m);
      toast(m);
    }
  }

  render(recs: RecordingListing[]): void {
    this.used.clear();
    setText(this.status, recs.length === 0 ? msg("rec.none") : "");
    this.list.replaceChildren(...recs.map((r) => this.item(r)));
  }

  private item(rec: RecordingListing): HTMLElement {
    const names = rec.participants.map((p) => p.name || p.id).join(", ");
    const when = new Date(rec.started).toLocaleString(currentLanguage(), { dateStyle: "medium", timeStyle: "short" });
    const state = !rec.stopped ? msg("rec.inProgress") : rec.composeError ? msg("rec.composeFailedShort") : !rec.composed ? msg("rec.composing") : null;
    const files = [...rec.files].sort((a, b) => fileOrder(rec, a.name) - fileOrder(rec, b.name));
    return h(
      "li",
      { class: "recording-item", "data-id": rec.id },
      h("div", { class: "recording-when" }, when),
      h("div", { class: "recording-meta" }, msg("rec.summary", { time: duration(rec.started, rec.stopped) || "…", names })),
      state && h("div", { class: "recording-state" }, state),
      h(
        "ul",
        { class: "recording-files" },
        ...files.map((f) =>
          h(
            "li",
            {},
            h(
              "a",
              {
                href: f.url,
                download: f.name,
                class: "recording-file",
                "data-file": f.name,
                onclick: (e: MouseEvent) => this.clicked(e, rec.id, f.name),
              },
              icon("download"),
              fileLabel(rec, f.name),
            ),
            h("span", { class: "recording-size" }, msg("rec.sizeMB", { size: (f.size / 1e6).toFixed(1) })),
          ),
        ),
      ),
    );
  }

  /** clicked lets a fresh link download; a used one is replaced by a new one, which then downloads. */
  private clicked(e: MouseEvent, id: string, file: string): void {
    const key = `${id}/${file}`;
    if (!this.used.has(key)) {
      this.used.add(key);
      return;
    }
    e.preventDefault();
    void this.load().then(() => {
      const a = [...this.list.querySelectorAll<HTMLAnchorElement>("a.recording-file")].find((x) => x.closest<HTMLElement>(".recording-item")?.dataset.id === id && x.dataset.file === file);
      a?.click();
    });
  }

  dispose(): void {
    this.used.clear();
  }
}
