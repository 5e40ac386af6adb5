// scanText finds interface text written into the source instead of taken
// from a catalogue: a string literal with letters in it, where the page
// shows it. It is a small tokenizer, not a parser, and looks only at the
// places where this app puts text on screen:
//   - children of h(...) and its text attributes (aria-label, title, ...),
//   - toast(...), announce(...), setText(el, ...), setAttr(el, name, ...),
//     el.setAttribute("aria-label" | "title" | ..., ...), emit("notice", ...),
//   - assignments to textContent, innerText, title, placeholder, ariaLabel,
//   - object properties named text, label, title, error, message, detail.
// Inside those, calls are skipped: t(...) and msg(...) are the catalogue,
// icon("name") and ids are code, and a nested h(...) is checked on its own.
// Only the test uses it.

export interface Finding {
  line: number;
  text: string;
  where: string;
}

type Tok = { kind: "str" | "tpl" | "id" | "p" | "num" | "re"; v: string; at: number; text?: string };

const textAttrs = new Set(["aria-label", "title", "placeholder", "alt", "label", "aria-description", "aria-roledescription", "aria-valuetext"]);
const textProps = new Set(["text", "label", "title", "error", "message", "detail"]);
const assignProps = new Set(["textContent", "innerText", "title", "placeholder", "ariaLabel"]);
const letters = /\p{L}/u;

/** tokenize splits TypeScript into strings, templates, names and punctuation, without comments. */
function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const regexAfter = new Set(["(", ",", "=", ":", "[", "!", "&", "|", "?", "{", "}", ";", "return", "=>", "+", "-", "*", "%", "<", ">", "~", "^", "typeof", "case"]);
  while (i < src.length) {
    const c = src[i];
    if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? src.length : end + 2;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let s = "";
      while (j < src.length && src[j] !== c) {
        if (src[j] === "\\") {
          s += src[j + 1];
          j += 2;
        } else s += src[j++];
      }
      out.push({ kind: "str", v: s, at: i, text: s });
      i = j + 1;
    } else if (c === "`") {
      // The static text of a template; ${...} parts are left out.
      let j = i + 1;
      let s = "";
      while (j < src.length && src[j] !== "`") {
        if (src[j] === "\\") {
          s += src[j + 1];
          j += 2;
        } else if (src[j] === "$" && src[j + 1] === "{") {
          let depth = 1;
          j += 2;
          while (j < src.length && depth > 0) {
            if (src[j] === "{") depth++;
            else if (src[j] === "}") depth--;
            j++;
          }
          s += " ";
        } else s += src[j++];
      }
      out.push({ kind: "tpl", v: s, at: i, text: s });
      i = j + 1;
    } else if (/[\p{L}_$]/u.test(c)) {
      let j = i;
      while (j < src.length && /[\p{L}\p{N}_$]/u.test(src[j])) j++;
      out.push({ kind: "id", v: src.slice(i, j), at: i });
      i = j;
    } else if (/\d/.test(c)) {
      let j = i;
      while (j < src.length && /[\w.]/.test(src[j])) j++;
      out.push({ kind: "num", v: src.slice(i, j), at: i });
      i = j;
    } else if (c === "/" && (out.length === 0 || regexAfter.has(out[out.length - 1].v))) {
      // A regular expression literal: skip it (it may hold quotes).
      let j = i + 1;
      let inClass = false;
      while (j < src.length && (inClass || src[j] !== "/")) {
        if (src[j] === "\\") j++;
        else if (src[j] === "[") inClass = true;
        else if (src[j] === "]") inClass = false;
        j++;
      }
      j++;
      while (j < src.length && /[a-z]/.test(src[j])) j++;
      out.push({ kind: "re", v: src.slice(i, j), at: i });
      i = j;
    } else if (/\s/.test(c)) {
      i++;
    } else {
      const two = src.slice(i, i + 2);
      if (two === "=>" || two === "?." || two === "==" || two === "!=" || two === "&&" || two === "||" || two === "??") {
        out.push({ kind: "p", v: two, at: i });
        i += 2;
      } else {
        out.push({ kind: "p", v: c, at: i });
        i++;
      }
    }
  }
  return out;
}

const open: Record<string, string> = { "(": ")", "[": "]", "{": "}" };

/** close returns the index of the bracket matching the one at i. */
function close(toks: Tok[], i: number): number {
  let depth = 0;
  for (let j = i; j < toks.length; j++) {
    if (toks[j].kind !== "p") continue;
    if (open[toks[j].v]) depth++;
    else if (toks[j].v === ")" || toks[j].v === "]" || toks[j].v === "}") {
      depth--;
      if (depth === 0) return j;
    }
  }
  return toks.length - 1;
}

/** args splits the call whose "(" is at i into argument ranges [from, to). */
function args(toks: Tok[], i: number): [number, number][] {
  const end = close(toks, i);
  const out: [number, number][] = [];
  let from = i + 1;
  for (let j = i + 1; j < end; j++) {
    if (toks[j].kind === "p" && open[toks[j].v]) j = close(toks, j);
    else if (toks[j].kind === "p" && toks[j].v === ",") {
      out.push([from, j]);
      from = j + 1;
    }
  }
  if (from < end) out.push([from, end]);
  return out;
}

/** compared says whether the literal at j is one side of == or != (a value, not text). */
function compared(toks: Tok[], j: number): boolean {
  const eq = (v?: string) => v === "==" || v === "!=";
  const before = toks[j - 1]?.v === "=" ? toks[j - 2]?.v : toks[j - 1]?.v;
  return eq(before) || eq(toks[j + 1]?.v);
}

/** literals lists the text literals in a range, skipping t/msg/icon/h calls. */
function literals(toks: Tok[], [from, to]: [number, number]): Tok[] {
  const out: Tok[] = [];
  for (let j = from; j < to; j++) {
    const k = toks[j];
    // Calls: arguments are code (ids, options), not text shown as such.
    if (k.kind === "id" && toks[j + 1]?.v === "(") {
      j = close(toks, j + 1);
      continue;
    }
    // Arrow functions in arguments are code, not text (their own calls are scanned).
    if (k.kind === "p" && k.v === "=>") return out;
    if ((k.kind === "str" || k.kind === "tpl") && letters.test(k.text ?? "") && !compared(toks, j)) out.push(k);
  }
  return out;
}

/** objectPairs reads the top-level key: value pairs of the object literal at i. */
function objectPairs(toks: Tok[], i: number): { key: string; range: [number, number] }[] {
  const end = close(toks, i);
  const out: { key: string; range: [number, number] }[] = [];
  let j = i + 1;
  while (j < end) {
    const key = toks[j];
    if ((key.kind === "id" || key.kind === "str") && toks[j + 1]?.v === ":") {
      let k = j + 2;
      while (k < end && toks[k].v !== ",") k = toks[k].kind === "p" && open[toks[k].v] ? close(toks, k) + 1 : k + 1;
      out.push({ key: key.v, range: [j + 2, k] });
      j = k + 1;
    } else {
      while (j < end && toks[j].v !== ",") j = toks[j].kind === "p" && open[toks[j].v] ? close(toks, j) + 1 : j + 1;
      j++;
    }
  }
  return out;
}

/** statementEnd is where an assignment's right-hand side ends. */
function statementEnd(toks: Tok[], from: number, src: string): number {
  for (let j = from; j < toks.length; j++) {
    const k = toks[j];
    if (k.kind === "p" && open[k.v]) {
      j = close(toks, j);
      continue;
    }
    if (k.v === ";" || k.v === ")" || k.v === "}" || k.v === ",") return j;
    if (j > from && src.slice(toks[j - 1].at, k.at).includes("\n") && !/^[?:.+]|^&&|^\|\|/.test(k.v)) return j;
  }
  return toks.length;
}

export function scanText(src: string): Finding[] {
  const toks = tokenize(src);
  const found: Finding[] = [];
  const lineOf = (at: number) => src.slice(0, at).split("\n").length;
  const seen = new Set<number>();
  const report = (ks: Tok[], where: string) => {
    for (const k of ks) {
      if (seen.has(k.at)) continue;
      seen.add(k.at);
      found.push({ line: lineOf(k.at), text: k.text ?? k.v, where });
    }
  };
  for (let i = 0; i < toks.length; i++) {
    const k = toks[i];
    const prev = toks[i - 1];
    const call = k.kind === "id" && toks[i + 1]?.v === "(";
    if (call && k.v === "h" && prev?.v !== ".") {
      const a = args(toks, i + 1);
      a.slice(2).forEach((r) => report(literals(toks, r), "h() child"));
      if (a[1] && toks[a[1][0]].v === "{") {
        for (const p of objectPairs(toks, a[1][0])) if (textAttrs.has(p.key)) report(literals(toks, p.range), `h() ${p.key}`);
      }
    } else if (call && (k.v === "toast" || k.v === "announce")) {
      const a = args(toks, i + 1);
      if (a[0]) report(literals(toks, a[0]), `${k.v}()`);
    } else if (call && k.v === "setText") {
      const a = args(toks, i + 1);
      if (a[1]) report(literals(toks, a[1]), "setText()");
    } else if (call && k.v === "setAttr") {
      const a = args(toks, i + 1);
      if (a[2]) report(literals(toks, a[2]), "setAttr()");
    } else if (call && k.v === "setAttribute") {
      const a = args(toks, i + 1);
      const name = a[0] ? toks[a[0][0]] : undefined;
      if (a[1] && name?.kind === "str" && textAttrs.has(name.v)) report(literals(toks, a[1]), `setAttribute(${name.v})`);
    } else if (call && k.v === "emit") {
      const a = args(toks, i + 1);
      const name = a[0] ? toks[a[0][0]] : undefined;
      if (a[1] && name?.kind === "str" && name.v === "notice") report(literals(toks, a[1]), "notice");
    } else if (k.kind === "id" && assignProps.has(k.v) && prev?.v === "." && toks[i + 1]?.v === "=" && toks[i + 2]?.v !== "=") {
      report(literals(toks, [i + 2, statementEnd(toks, i + 2, src)]), `.${k.v} =`);
    } else if (k.kind === "id" && textProps.has(k.v) && toks[i + 1]?.v === ":" && (prev?.v === "{" || prev?.v === ",")) {
      const end = statementEnd(toks, i + 2, src);
      report(literals(toks, [i + 2, end]), `${k.v}:`);
    }
  }
  return found;
}
