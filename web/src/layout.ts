// Layout: which tile goes on the stage and how the rest are placed. Pure
// functions, so that the choices are unit tested (layout.test.ts); the
// tile grid (ui/tiles.ts) applies them to the DOM.

export type ViewMode = "auto" | "speaker";

/** What a person chose; kept in localStorage. */
export interface LayoutPrefs {
  mode: ViewMode;
  hideSelf: boolean;
}

export const defaultPrefs: LayoutPrefs = { mode: "auto", hideSelf: false };
const prefsKey = "huddle.layout";

export function loadPrefs(store: Pick<Storage, "getItem"> | undefined): LayoutPrefs {
  try {
    const v = JSON.parse(store?.getItem(prefsKey) ?? "null");
    return { mode: v?.mode === "speaker" ? "speaker" : "auto", hideSelf: v?.hideSelf === true };
  } catch {
    return { ...defaultPrefs };
  }
}

export function savePrefs(store: Pick<Storage, "setItem"> | undefined, p: LayoutPrefs): void {
  try {
    store?.setItem(prefsKey, JSON.stringify(p));
  } catch {
    // Private mode or full storage: the choice lasts for this page only.
  }
}

export interface LayoutInput {
  /** Every participant, self first, then in order of arrival. */
  ids: string[];
  selfId: string;
  prefs: LayoutPrefs;
  /** The tile this person pinned, or "". */
  pinned: string;
  /** The tile the host put on everyone's stage, or "". */
  spotlight?: string;
  /** Who is sharing a screen, newest last. */
  presenters: string[];
  /** The remote participant who spoke last, or "". */
  speaker: string;
}

export interface Layout {
  /** The big tile, or "" for a plain grid. */
  stage: string;
  /** Why it is on the stage. */
  why: "" | "pinned" | "spotlight" | "presenting" | "speaker";
  /** The other visible tiles, in order (the strip, or the grid). */
  rest: string[];
  /** Tiles not shown (our own, when hidden). */
  hidden: string[];
}

/**
 * arrange picks the stage: a pinned tile first (one's own choice wins),
 * then the host's spotlight, then the newest screen share, then (speaker
 * view) the active speaker; with none of them, a grid. Hiding our own tile never leaves the screen empty.
 */
export function arrange(l: LayoutInput): Layout {
  const known = (id: string) => id !== "" && l.ids.includes(id);
  const others = l.ids.filter((id) => id !== l.selfId);
  const hideSelf = l.prefs.hideSelf && others.length > 0;
  let stage = "";
  let why: Layout["why"] = "";
  const presenter = [...l.presenters].reverse().find(known) ?? "";
  if (known(l.pinned)) [stage, why] = [l.pinned, "pinned"];
  else if (l.spotlight && known(l.spotlight)) [stage, why] = [l.spotlight, "spotlight"];
  else if (presenter) [stage, why] = [presenter, "presenting"];
  else if (l.prefs.mode === "speaker" && others.length > 0) [stage, why] = [known(l.speaker) && l.speaker !== l.selfId ? l.speaker : others[0], "speaker"];
  const hidden = hideSelf && stage !== l.selfId ? [l.selfId] : [];
  const rest = l.ids.filter((id) => id !== stage && !hidden.includes(id));
  return { stage, why, rest, hidden };
}

/**
 * bestGrid chooses the columns for n tiles of the given aspect ratio in a
 * box, so that the tiles are as large as possible (what "fits the window"
 * means: a wide window gets a row, a phone a column).
 */
export function bestGrid(n: number, width: number, height: number, gap = 10, aspect = 16 / 9): { cols: number; rows: number; tileWidth: number } {
  n = Math.max(1, n);
  let best = { cols: 1, rows: n, tileWidth: 0 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const w = Math.min((width - gap * (cols - 1)) / cols, ((height - gap * (rows - 1)) / rows) * aspect);
    if (w > best.tileWidth + 0.5) best = { cols, rows, tileWidth: Math.max(0, w) };
  }
  return best;
}

/**
 * SpeakerTracker turns audio levels into a calm "who is speaking": a new
 * speaker takes over only after speaking for holdMs, so a cough does not
 * flip the stage.
 */
export class SpeakerTracker {
  current = "";
  private candidate = "";
  private since = 0;

  constructor(private readonly holdMs = 1200) {}

  /** update takes the loudest participant now ("" for silence) and returns the speaker. */
  update(loudest: string, now: number): string {
    if (!loudest || loudest === this.current) {
      this.candidate = "";
      return this.current;
    }
    if (loudest !== this.candidate) {
      this.candidate = loudest;
      this.since = now;
    }
    if (!this.current || now - this.since >= this.holdMs) {
      this.current = loudest;
      this.candidate = "";
    }
    return this.current;
  }
}

/** How many tiles a page of the grid holds. */
export const pageSize = 25;

export interface Page {
  /** The tiles on the page shown, in order. */
  shown: string[];
  /** The page shown (0-based, clamped) and how many there are. */
  page: number;
  pages: number;
}

/**
 * paginate splits the grid's tiles into pages of `size`. The active
 * speaker is always on the first page: when it would be on a later one, it
 * takes the first page's last place and the one there moves back to its
 * slot, so that everyone else keeps their place.
 */
export function paginate(ids: string[], page: number, speaker: string, size = pageSize): Page {
  size = Math.max(1, Math.floor(size));
  const order = [...ids];
  const at = order.indexOf(speaker);
  if (at >= size) [order[size - 1], order[at]] = [order[at], order[size - 1]];
  const pages = Math.max(1, Math.ceil(order.length / size));
  page = Math.min(Math.max(0, Math.floor(page)), pages - 1);
  return { shown: order.slice(page * size, (page + 1) * size), page, pages };
}
