// People choose their names and write their messages; a right-to-left
// override or a right-to-left name must not reorder the text around it
// ("Ada joined" turning into "denioj adA", a file name spelled backwards).
// Elements that hold user text get dir="auto" or are <bdi>; where user text
// goes into a longer plain string (notices, labels, aria-labels, canvas
// text), isolate() wraps it in FIRST STRONG ISOLATE ... POP DIRECTIONAL
// ISOLATE, the plain-text form of <bdi>.

const FSI = "\u2068";
const PDI = "\u2069";

/** isolate wraps user text so its direction stays inside it. */
export function isolate(text: string): string {
  return FSI + text + PDI;
}

export type TextPart = { text: string; isolated: boolean };

/**
 * isolatedParts splits a notice made with isolate() into its plain runs and
 * its isolated ones, so it can be shown with a <bdi> per isolated run.
 */
export function isolatedParts(text: string): TextPart[] {
  const out: TextPart[] = [];
  let rest = text;
  while (rest !== "") {
    const start = rest.indexOf(FSI);
    const end = start < 0 ? -1 : rest.indexOf(PDI, start + 1);
    if (start < 0 || end < 0) {
      out.push({ text: rest, isolated: false });
      break;
    }
    if (start > 0) out.push({ text: rest.slice(0, start), isolated: false });
    out.push({ text: rest.slice(start + 1, end), isolated: true });
    rest = rest.slice(end + 1);
  }
  return out;
}

/** plainText is a notice without its isolate marks, for screen readers. */
export function plainText(text: string): string {
  return isolatedParts(text)
    .map((p) => p.text)
    .join("");
}
