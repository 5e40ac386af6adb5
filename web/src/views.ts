// Views tell the SFU how this page shows each participant's video: the
// tile's height in device pixels, or 0 when it is not seen (scrolled off,
// hidden, or the tab in the background). The server sends each video at
// the simulcast layer the tile needs, and none at all to a tile nobody
// sees; audio always flows.

export interface View {
  id: string;
  height: number;
}

/** How often the tiles are measured; a change is sent at once. */
const intervalMs = 1000;

/** measureViews reads the tiles of a grid: `.tile[data-peer-id]` with a video. */
export function measureViews(root: ParentNode, hidden: boolean, viewport: { width: number; height: number }, dpr: number): View[] {
  const out: View[] = [];
  for (const tile of root.querySelectorAll<HTMLElement>(".tile[data-peer-id]")) {
    if (tile.dataset.self === "true") continue;
    const id = tile.dataset.peerId ?? "";
    const r = tile.getBoundingClientRect();
    const seen = !hidden && r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < viewport.height && r.left < viewport.width;
    out.push({ id, height: seen ? Math.round(r.height * dpr) : 0 });
  }
  return out;
}

/** sameViews compares two reports, in any order. */
export function sameViews(a: View[], b: View[]): boolean {
  if (a.length !== b.length) return false;
  const m = new Map(a.map((v) => [v.id, v.height]));
  return b.every((v) => m.get(v.id) === v.height);
}

/**
 * watchViews measures root's tiles every second and on visibility
 * changes, and calls send when the views changed. It returns a stop
 * function.
 */
export function watchViews(root: ParentNode, send: (views: View[]) => void): () => void {
  let last: View[] = [];
  const check = () => {
    const views = measureViews(root, document.hidden, { width: window.innerWidth, height: window.innerHeight }, window.devicePixelRatio || 1);
    if (sameViews(views, last)) return;
    last = views;
    send(views);
  };
  const timer = setInterval(check, intervalMs);
  document.addEventListener("visibilitychange", check);
  return () => {
    clearInterval(timer);
    document.removeEventListener("visibilitychange", check);
  };
}
