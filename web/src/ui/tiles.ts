// Tiles: one video per participant in a grid that fits 1-8 people, with
// name, muted-mic and camera-off indicators and the active speaker ring.
import { LevelMeter } from "../media";
import type { Participant } from "../meeting";
import { gridFor } from "../recorder";
import { isolate } from "../text";
import { h, icon, initials } from "./dom";

interface Tile {
  el: HTMLElement;
  video: HTMLVideoElement;
  name: HTMLElement;
  avatar: HTMLElement;
  meter: LevelMeter | null;
  meterTrack: MediaStreamTrack | null;
}

const speakingThreshold = 0.08;

export class TileGrid {
  readonly el = h("div", { class: "grid", id: "grid" });
  private tiles = new Map<Participant, Tile>();
  private speakerTimer: ReturnType<typeof setInterval>;
  private sinkId = "";
  private lastSpeaker: Tile | null = null;
  private holdUntil = 0;

  constructor() {
    this.speakerTimer = setInterval(() => this.findSpeaker(), 200);
  }

  setSink(id: string): void {
    this.sinkId = id;
    for (const [p, t] of this.tiles) if (!p.self) this.applySink(t.video);
  }

  private applySink(v: HTMLVideoElement): void {
    if (this.sinkId && "setSinkId" in v) void v.setSinkId(this.sinkId).catch(() => {});
  }

  add(p: Participant): void {
    if (this.tiles.has(p)) return this.update(p);
    const video = h("video", { autoplay: true, playsinline: true });
    if (p.self) video.muted = true; // never play our own microphone back
    const name = h("span", { class: "tile-name", dir: "auto" });
    const avatar = h("div", { class: "avatar", "aria-hidden": "true" });
    const el = h(
      "div",
      { class: "tile", role: "group" },
      video,
      h("div", { class: "avatar-wrap" }, avatar),
      h(
        "div",
        { class: "tile-label" },
        h("span", { class: "mic-off", role: "img", "aria-label": "Microphone off", title: "Microphone off" }, icon("micOff")),
        h("span", { class: "cam-off", role: "img", "aria-label": "Camera off", title: "Camera off" }, icon("camOff")),
        name,
      ),
      h("span", { class: "presenting" }, "Presenting"),
    );
    const tile: Tile = { el, video, name, avatar, meter: null, meterTrack: null };
    this.tiles.set(p, tile);
    if (!p.self) this.applySink(video);
    // Self first, then in order of arrival.
    if (p.self) this.el.prepend(el);
    else this.el.append(el);
    this.update(p);
    this.layout();
  }

  update(p: Participant): void {
    const t = this.tiles.get(p);
    if (!t) return;
    t.el.dataset.peerId = p.id;
    t.el.dataset.audio = p.audio ? "on" : "off";
    t.el.dataset.video = p.video ? "on" : "off";
    t.el.dataset.screen = p.screen ? "on" : "off";
    t.el.dataset.self = p.self ? "true" : "false";
    t.el.classList.toggle("mirrored", p.self && !p.screen);
    if (p.self) t.name.replaceChildren(h("bdi", {}, p.name), " (You)");
    else t.name.textContent = p.name;
    t.avatar.textContent = initials(p.name);
    t.el.setAttribute("aria-label", p.self ? `You, ${p.name}` : p.name);
    if (t.video.srcObject !== p.stream) t.video.srcObject = p.stream;
    // Remote streams gain tracks later; poke play() so autoplay starts.
    if (t.video.paused) void t.video.play().catch(() => {});
    const track = p.stream.getAudioTracks()[0] ?? null;
    if (track !== t.meterTrack) {
      t.meter?.close();
      t.meterTrack = track;
      t.meter = track ? new LevelMeter(new MediaStream([track])) : null;
    }
  }

  remove(p: Participant): void {
    const t = this.tiles.get(p);
    if (!t) return;
    t.meter?.close();
    t.video.srcObject = null;
    t.el.remove();
    this.tiles.delete(p);
    this.layout();
  }

  /** videos lists what the recorder draws, in grid order. */
  videos(): { video: HTMLVideoElement; label: string; mirrored: boolean }[] {
    return [...this.tiles.entries()]
      .sort(([a], [b]) => Number(b.self) - Number(a.self))
      .map(([p, t]) => ({ video: t.video, label: p.self ? `${isolate(p.name)} (You)` : isolate(p.name), mirrored: p.self && !p.screen }));
  }

  private layout(): void {
    const n = Math.max(1, this.tiles.size);
    const { cols, rows } = gridFor(n);
    this.el.style.setProperty("--cols", String(cols));
    this.el.style.setProperty("--rows", String(rows));
    this.el.dataset.count = String(n);
  }

  private findSpeaker(): void {
    let best: Tile | null = null;
    let bestLevel = speakingThreshold;
    for (const [p, t] of this.tiles) {
      const lvl = p.audio && t.meter ? t.meter.level() : 0;
      if (lvl > bestLevel) {
        best = t;
        bestLevel = lvl;
      }
    }
    // Hold the ring on the last speaker a little so it does not flicker
    // between words; only one tile is ever highlighted.
    const now = Date.now();
    if (best) {
      this.lastSpeaker = best;
      this.holdUntil = now + 800;
    }
    const lit = best ?? (now < this.holdUntil ? this.lastSpeaker : null);
    for (const t of this.tiles.values()) t.el.classList.toggle("speaking", t === lit);
  }

  dispose(): void {
    clearInterval(this.speakerTimer);
    for (const p of [...this.tiles.keys()]) this.remove(p);
  }
}
