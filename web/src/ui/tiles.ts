// Tiles: one video per participant (and one more for a shared screen,
// beside the camera), with name, muted-mic and camera-off
// indicators, the active speaker ring, a raised-hand badge, connection
// bars, a pin button and floating reactions; laid out as a grid that fits
// the window or as a stage (pinned, presenting, speaker) over a strip.
import { arrange, bestGrid, loadPrefs, paginate, pageSize, savePrefs, SpeakerTracker, type Layout, type LayoutPrefs } from "../layout";
import { LevelMeter } from "../media";
import type { Participant } from "../meeting";
import type { Quality } from "../quality";
import { isolate } from "../text";
import { msg, t, type Msg } from "../i18n";
import { h, icon, initials, msgNode, setAttr, toast } from "./dom";
import { screenSuffix } from "../sfu";

interface Tile {
  el: HTMLElement;
  video: HTMLVideoElement;
  name: HTMLElement;
  avatar: HTMLElement;
  hand: HTMLElement;
  pin: HTMLButtonElement;
  quality: HTMLButtonElement;
  reactions: HTMLElement;
  meter: LevelMeter | null;
  meterTrack: MediaStreamTrack | null;
  /** A stream being started in a second element, to take the tile's place once it shows a picture. */
  incoming: MediaStream | null;
}

/** The longest a new stream is started aside before it takes the tile anyway. */
const swapWaitMs = 1500;

const speakingThreshold = 0.08;
const reactionMs = 3000;

export class TileGrid {
  readonly el = h("div", { class: "grid", id: "grid", "data-layout": "grid" });
  private stageBox = h("div", { class: "stage-main" });
  private strip = h("div", { class: "strip", role: "group", "aria-label": msg("tiles.others") });
  private tiles = new Map<Participant, Tile>();
  private speakerTimer: ReturnType<typeof setInterval>;
  private sinkId = "";
  private lastSpeaker: Tile | null = null;
  private holdUntil = 0;
  private speakers = new SpeakerTracker();
  /** The screen tiles' ids, newest last: the newest goes on the stage. */
  private presenters: string[] = [];
  /** Each presenter's screen tile, by the presenter. */
  private screens = new Map<Participant, Participant>();
  /** The screen tiles' participants (the values of screens). */
  private screenTiles = new WeakSet<Participant>();
  private pinned = "";
  private spotlit = "";
  /** The server's dominant speaker (SFU), or null to judge from the meters. */
  private serverSpeaker: string | null = null;
  /** The grid's page, and how many tiles a page holds (tests may lower it). */
  private page = 0;
  private pageSize = readPageSize(globalThis.localStorage);
  private pager = h("nav", { class: "pager", "aria-label": msg("grid.pages") });
  private layoutKey = "";
  private resize: ResizeObserver | null = null;
  prefs: LayoutPrefs = loadPrefs(globalThis.localStorage);
  /** The layout now; tests and the layout menu read it. */
  current: Layout = { stage: "", why: "", rest: [], hidden: [] };
  onLayout: (l: Layout) => void = () => {};

  constructor() {
    this.speakerTimer = setInterval(() => this.findSpeaker(), 200);
    this.el.addEventListener("pointerdown", (e) => this.dragPip(e));
    if (typeof ResizeObserver !== "undefined") {
      this.resize = new ResizeObserver(() => this.fit());
      this.resize.observe(this.el);
    }
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
    const hand = h("span", { class: "hand-badge", role: "img", hidden: true });
    const pin = h("button", { type: "button", class: "tile-pin", onclick: () => this.pin(this.pinned === p.id ? "" : p.id) }, icon("pin"));
    const quality = h(
      "button",
      { type: "button", class: "quality", "data-level": "0", hidden: true, onclick: () => toast(quality.title) },
      h("i", {}),
      h("i", {}),
      h("i", {}),
    );
    const reactions = h("div", { class: "reactions", "aria-hidden": "true" });
    const el = h(
      "div",
      { class: "tile", role: "group" },
      video,
      h("div", { class: "avatar-wrap" }, avatar),
      h(
        "div",
        { class: "tile-label" },
        h("span", { class: "mic-off", role: "img", "aria-label": msg("media.micIsOff"), title: msg("media.micIsOff") }, icon("micOff")),
        h("span", { class: "cam-off", role: "img", "aria-label": msg("media.camIsOff"), title: msg("media.camIsOff") }, icon("camOff")),
        name,
      ),
      h("div", { class: "tile-top" }, hand, h("span", { class: "presenting" }, msg("tile.presenting")), h("span", { class: "tile-spacer" }), pin, quality),
      reactions,
    );
    const tile: Tile = { el, video, name, avatar, hand, pin, quality, reactions, meter: null, meterTrack: null, incoming: null };
    this.tiles.set(p, tile);
    if (!p.self) this.applySink(video);
    this.update(p);
    this.layout();
  }

  update(p: Participant): void {
    const t = this.tiles.get(p);
    if (!t) return;
    t.el.dataset.peerId = p.id;
    t.el.dataset.audio = p.audio ? "on" : "off";
    t.el.dataset.video = p.video ? "on" : "off";
    const screen = this.isScreen(p);
    t.el.dataset.screen = screen ? "on" : "off";
    t.el.dataset.self = p.self ? "true" : "false";
    t.el.classList.toggle("mirrored", p.self && !screen);
    const label = screen ? (p.self ? msg("tile.selfScreen") : msg("tile.screenOf", { name: p.name })) : p.self ? msg("tile.selfLabel", { name: p.name }) : p.name;
    if (screen && typeof label !== "string") t.name.replaceChildren(msgNode(label));
    else if (p.self) t.name.replaceChildren(h("bdi", {}, p.name), " ", msgNode(msg("common.youTag")));
    else t.name.textContent = p.name;
    t.avatar.textContent = initials(p.name);
    setAttr(t.el, "aria-label", label);
    const pinned = this.pinned === p.id;
    const pinLabel = p.self ? msg(pinned ? "tile.unpinSelf" : "tile.pinSelf") : msg(pinned ? "tile.unpin" : "tile.pin", { name: p.name });
    setAttr(t.pin, "aria-label", pinLabel);
    setAttr(t.pin, "title", pinLabel);
    t.pin.setAttribute("aria-pressed", String(pinned));
    this.show(t, p);
    // Remote streams gain tracks later; poke play() so autoplay starts.
    if (t.video.paused) void t.video.play().catch(() => {});
    const track = p.stream.getAudioTracks()[0] ?? null;
    if (track !== t.meterTrack) {
      t.meter?.close();
      t.meterTrack = track;
      t.meter = track ? new LevelMeter(new MediaStream([track])) : null;
    }
    if (!screen) this.syncScreen(p);
    this.layout();
  }

  /**
   * show puts p's stream in its tile. A tile that shows a picture and gets
   * another stream (the meeting moving between the mesh and the SFU)
   * starts the new one in a second element, which takes the first one's
   * place once it has a frame: a video element given a new source shows
   * nothing until that source's next frame is decoded and drawn, a few
   * hundred ms on a busy machine, and the tile froze that long.
   */
  private show(t: Tile, p: Participant): void {
    const stream = p.stream;
    if (t.video.srcObject === stream || t.incoming === stream) return;
    const showing = t.video.srcObject instanceof MediaStream && t.video.videoWidth > 0;
    if (!showing || stream.getVideoTracks().length === 0) {
      t.incoming = null;
      t.video.srcObject = stream;
      return;
    }
    t.incoming = stream;
    const next = t.video.cloneNode(false) as HTMLVideoElement;
    next.muted = true; // until it is the tile's: one element plays the audio
    next.srcObject = stream;
    let done = false;
    const swap = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (this.tiles.get(p) !== t || t.incoming !== stream) {
        next.srcObject = null; // superseded, or the tile is gone
        return;
      }
      next.muted = t.video.muted;
      t.video.replaceWith(next);
      t.video.srcObject = null;
      t.video = next;
      t.incoming = null;
      if (!p.self) this.applySink(next);
    };
    const timer = setTimeout(swap, swapWaitMs);
    next.addEventListener("loadeddata", swap, { once: true });
    next.requestVideoFrameCallback?.(() => swap());
    void next.play().catch(() => {});
  }

  private isScreen(p: Participant): boolean {
    return this.screenTiles.has(p);
  }

  /**
   * syncScreen gives a presenter's screen a tile of its own while it is
   * shared (the camera's tile stays); the newest goes on the stage.
   */
  private syncScreen(p: Participant): void {
    const s = this.screens.get(p);
    if (p.screen && p.screenStream) {
      if (s) {
        s.name = p.name;
        s.stream = p.screenStream;
        this.update(s);
        return;
      }
      const tile: Participant = { id: p.id + screenSuffix, name: p.name, audio: true, video: true, screen: true, recording: false, self: p.self, stream: p.screenStream };
      this.screens.set(p, tile);
      this.screenTiles.add(tile);
      this.presenters.push(tile.id);
      this.add(tile);
    } else if (s) {
      this.screens.delete(p);
      this.remove(s);
    }
  }

  remove(p: Participant): void {
    const s = this.screens.get(p);
    if (s) {
      this.screens.delete(p);
      this.remove(s);
    }
    const t = this.tiles.get(p);
    if (!t) return;
    t.meter?.close();
    t.video.srcObject = null;
    t.el.remove();
    this.tiles.delete(p);
    this.presenters = this.presenters.filter((id) => id !== p.id);
    this.layout();
  }

  private byId(id: string): [Participant, Tile] | undefined {
    for (const e of this.tiles) if (e[0].id === id) return e;
    return undefined;
  }

  /** setHands shows a badge, with the hand's place in the queue, on each raised hand's tile. */
  setHands(ids: string[]): void {
    for (const [p, t] of this.tiles) {
      const i = ids.indexOf(p.id);
      t.hand.hidden = i < 0;
      t.el.dataset.hand = i < 0 ? "" : String(i + 1);
      t.hand.replaceChildren(icon("hand"), ids.length > 1 && i >= 0 ? h("b", {}, String(i + 1)) : "");
      const label = i < 0 ? "" : ids.length > 1 ? msg("tile.handInLine", { count: i + 1 }) : msg("tile.handRaised");
      setAttr(t.hand, "aria-label", label);
      setAttr(t.hand, "title", label);
    }
  }

  /** showReaction floats an emoji over id's tile for a few seconds. */
  showReaction(id: string, emoji: string): void {
    const t = this.byId(id)?.[1];
    if (!t) return;
    const e = h("span", { class: "float" }, emoji);
    e.style.setProperty("--x", `${15 + Math.random() * 60}%`);
    t.reactions.append(e);
    while (t.reactions.childElementCount > 8) t.reactions.firstElementChild?.remove();
    setTimeout(() => e.remove(), reactionMs);
  }

  setQuality(p: Participant, q: Quality): void {
    const t = this.tiles.get(p);
    if (!t) return;
    t.quality.hidden = q.level === 0;
    t.quality.dataset.level = String(q.level);
    setAttr(t.quality, "title", q.text);
    setAttr(t.quality, "aria-label", q.text);
  }

  /** pin puts id on the stage for us alone ("" unpins). */
  pin(id: string): void {
    this.pinned = id;
    for (const p of this.tiles.keys()) this.update(p);
    this.layout();
  }

  /**
   * setServerSpeaker follows the SFU's dominant speaker, which hears every
   * microphone even when this page does not (null: back to the page's own
   * meters). The speaking ring stays on the meters.
   */
  setServerSpeaker(id: string | null): void {
    this.serverSpeaker = id;
    if (id === null || id === this.speakers.current) return;
    if ([...this.tiles.keys()].some((p) => p.id === id && p.self)) return;
    this.speakers.current = id;
    if (this.prefs.mode === "speaker" || this.pages.pages > 1) this.layout();
  }

  /** setSpotlight puts the host's choice on the stage ("" ends it); one's own pin still wins. */
  setSpotlight(id: string): void {
    this.spotlit = id;
    for (const [p, t] of this.tiles) t.el.classList.toggle("spotlit", p.id === id);
    this.layout();
  }

  setPrefs(p: LayoutPrefs): void {
    this.prefs = p;
    savePrefs(globalThis.localStorage, p);
    this.layout();
  }

  /**
   * focus is who a small window should show: what is on the stage (a
   * screen, a pin, the spotlight), else the one speaking, else the first
   * other participant; ourselves only when alone.
   */
  focus(): Participant | null {
    const ps = [...this.tiles.keys()];
    const find = (id: string) => (id ? ps.find((p) => p.id === id) : undefined);
    return find(this.current.stage) ?? find(this.speakers.current) ?? ps.find((p) => !p.self) ?? ps[0] ?? null;
  }

  /** videoOf is a participant's tile video. */
  videoOf(p: Participant): HTMLVideoElement | null {
    return this.tiles.get(p)?.video ?? null;
  }

  /** videos lists what the recorder draws, in grid order. */
  videos(): { video: HTMLVideoElement; label: string; mirrored: boolean }[] {
    return [...this.tiles.entries()]
      .sort(([a], [b]) => Number(b.self) - Number(a.self))
      .map(([p, tile]) => ({ video: tile.video, label: p.self ? `${isolate(p.name)} ${t("common.youTag")}` : isolate(p.name), mirrored: p.self && !this.isScreen(p) }));
  }

  /** layout arranges the tiles; the DOM moves only when the arrangement changes. */
  private layout(): void {
    const ps = [...this.tiles.keys()].sort((a, b) => Number(b.self) - Number(a.self));
    const self = ps.find((p) => p.self);
    const l = arrange({ ids: ps.map((p) => p.id), selfId: self?.id ?? "", prefs: this.prefs, pinned: this.pinned, spotlight: this.spotlit, presenters: this.presenters, speaker: this.speakers.current });
    if (this.pinned && l.why !== "pinned") this.pinned = ""; // the pinned one left
    this.current = l;
    const key = JSON.stringify(l) + (l.stage ? "" : `|${this.page}|${this.pageSize}|${this.speakers.current}`);
    if (key !== this.layoutKey) {
      this.layoutKey = key;
      const tile = (id: string) => this.byId(id)![1].el;
      for (const [p, t] of this.tiles) {
        t.el.hidden = l.hidden.includes(p.id);
        t.el.classList.toggle("on-stage", p.id === l.stage);
        t.el.classList.remove("pip");
      }
      const duo = !l.stage && l.hidden.length === 0 && l.rest.length === 2 && !!self && l.rest.includes(self.id);
      if (l.stage) {
        this.el.dataset.layout = "stage";
        this.el.dataset.why = l.why;
        this.stageBox.replaceChildren(tile(l.stage));
        this.strip.replaceChildren(...l.rest.map(tile), ...l.hidden.map(tile));
        this.strip.hidden = l.rest.length === 0;
        this.el.replaceChildren(this.stageBox, this.strip);
      } else if (duo) {
        // A call of two: the other person fills the screen, our own view
        // floats in a corner (drag it to another), as Meet and phones do.
        this.el.dataset.layout = "duo";
        delete this.el.dataset.why;
        const mine = tile(self.id);
        mine.classList.add("pip");
        this.el.replaceChildren(...l.rest.filter((id) => id !== self.id).map(tile), mine);
      } else {
        this.el.dataset.layout = "grid";
        delete this.el.dataset.why;
        // Tiles on other pages stay in the page, hidden: their audio
        // plays, and the SFU sends them no video (views.ts sees them
        // as not shown).
        const pg = paginate(l.rest, this.page, this.speakers.current, this.pageSize);
        this.page = pg.page;
        for (const id of l.rest) if (!pg.shown.includes(id)) tile(id).hidden = true;
        this.el.replaceChildren(...pg.shown.map(tile), ...l.rest.filter((id) => !pg.shown.includes(id)).map(tile), ...l.hidden.map(tile));
        this.renderPager(pg.page, pg.pages);
        if (pg.pages > 1) this.el.append(this.pager);
      }
      for (const t of this.tiles.values()) if (t.video.paused) void t.video.play().catch(() => {});
      this.onLayout(l);
    }
    this.fit();
  }

  /**
   * dragPip moves the floating self view of a call of two with a finger or
   * the mouse; let go, it settles in the nearest corner.
   */
  private dragPip(e: PointerEvent): void {
    const pip = (e.target as Element | null)?.closest?.(".tile.pip") as HTMLElement | null;
    if (!pip || (e.target as Element).closest("button")) return;
    e.preventDefault();
    const box = this.el.getBoundingClientRect();
    const start = pip.getBoundingClientRect();
    const dx = e.clientX - start.left;
    const dy = e.clientY - start.top;
    pip.setPointerCapture(e.pointerId);
    pip.classList.add("dragging");
    const move = (ev: PointerEvent) => {
      const x = Math.min(Math.max(ev.clientX - dx - box.left, 0), box.width - start.width);
      const y = Math.min(Math.max(ev.clientY - dy - box.top, 0), box.height - start.height);
      pip.style.insetInlineStart = "auto";
      pip.style.left = `${x}px`;
      pip.style.top = `${y}px`;
    };
    const up = (ev: PointerEvent) => {
      pip.removeEventListener("pointermove", move);
      pip.removeEventListener("pointerup", up);
      pip.removeEventListener("pointercancel", up);
      pip.classList.remove("dragging");
      const r = pip.getBoundingClientRect();
      const right = r.left + r.width / 2 > box.left + box.width / 2;
      const bottom = r.top + r.height / 2 > box.top + box.height / 2;
      pip.style.left = pip.style.top = pip.style.insetInlineStart = "";
      this.el.dataset.pip = `${bottom ? "b" : "t"}${right ? "r" : "l"}`;
      void ev;
    };
    pip.addEventListener("pointermove", move);
    pip.addEventListener("pointerup", up);
    pip.addEventListener("pointercancel", up);
  }

  /** showPage turns the grid to page (0-based; clamped). */
  showPage(page: number): void {
    this.page = page;
    this.layout();
  }

  private renderPager(page: number, pages: number): void {
    const turn = (to: number, label: Msg, text: string) =>
      h("button", { type: "button", class: "pager-turn", "aria-label": label, title: label, disabled: to < 0 || to >= pages, onclick: () => this.showPage(to) }, text);
    this.pager.replaceChildren(
      turn(page - 1, msg("grid.prevPage"), "‹"),
      h("span", { class: "pager-text", "aria-live": "polite" }, msg("grid.page", { page: page + 1, pages })),
      turn(page + 1, msg("grid.nextPage"), "›"),
    );
  }

  /** fit sizes the grid's tiles to the window. */
  private fit(): void {
    const shown = this.current.stage || this.el.dataset.layout === "duo" ? 1 : Math.min(this.current.rest.length, this.pageSize);
    const n = Math.max(1, shown);
    const { cols, rows } = bestGrid(n, this.el.clientWidth || 1280, this.el.clientHeight || 720);
    this.el.style.setProperty("--cols", String(cols));
    this.el.style.setProperty("--rows", String(rows));
    this.el.dataset.count = String(n);
  }

  private findSpeaker(): void {
    let best: Tile | null = null;
    let bestLevel = speakingThreshold;
    let remote = "";
    let remoteLevel = speakingThreshold;
    for (const [p, t] of this.tiles) {
      const lvl = p.audio && t.meter ? t.meter.level() : 0;
      if (lvl > bestLevel) {
        best = t;
        bestLevel = lvl;
      }
      if (!p.self && lvl > remoteLevel) {
        remote = p.id;
        remoteLevel = lvl;
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
    const before = this.speakers.current;
    if (this.serverSpeaker !== null) return; // the server says who speaks (setServerSpeaker)
    // The speaker view follows the speaker; so does the first page of a
    // grid of several pages, where the speaker always is.
    if (this.speakers.update(remote, now) !== before && (this.prefs.mode === "speaker" || this.pages.pages > 1)) this.layout();
  }

  /** The page shown (0-based) and how many there are; tests read it. */
  get pages(): { page: number; pages: number } {
    return { page: this.page, pages: Math.max(1, Math.ceil(this.current.rest.length / this.pageSize)) };
  }

  dispose(): void {
    clearInterval(this.speakerTimer);
    this.resize?.disconnect();
    for (const p of [...this.tiles.keys()]) this.remove(p);
  }
}

/**
 * readPageSize is the grid's page size: 25, or a smaller one stored under
 * huddle.pageSize (so that a test with three browsers can turn pages).
 */
function readPageSize(store: Pick<Storage, "getItem"> | undefined): number {
  let n = NaN;
  try {
    n = Number(store?.getItem("huddle.pageSize"));
  } catch {
    // No storage: the default.
  }
  return Number.isInteger(n) && n >= 1 && n < pageSize ? n : pageSize;
}
