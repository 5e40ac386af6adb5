import { describe, expect, it } from "vitest";
import { chatSegments, renderChatMessage, UnreadCounter, type TextOnlyDocument } from "./chat";

/**
 * A minimal DOM: elements keep children and attributes; assigning innerHTML
 * or outerHTML is recorded as a violation, and no parser exists, so any
 * markup in the output must have come from createElement calls.
 */
class FakeNode {
  children: FakeNode[] = [];
  attrs: Record<string, string> = {};
  className = "";
  private text = "";
  htmlWrites = 0;
  constructor(
    readonly tagName: string,
    initialText = "",
  ) {
    this.text = initialText;
  }
  set textContent(v: string) {
    this.text = v;
    this.children = [];
  }
  get textContent(): string {
    return this.text + this.children.map((c) => c.textContent).join("");
  }
  set innerHTML(_v: string) {
    this.htmlWrites++;
  }
  append(...nodes: FakeNode[]) {
    this.children.push(...nodes);
  }
  setAttribute(k: string, v: string) {
    this.attrs[k] = v;
  }
  all(): FakeNode[] {
    return [this, ...this.children.flatMap((c) => c.all())];
  }
}

const created: FakeNode[] = [];
const doc = {
  createElement: (tag: string) => {
    const n = new FakeNode(tag.toUpperCase());
    created.push(n);
    return n;
  },
  createTextNode: (t: string) => new FakeNode("#text", t),
} as unknown as TextOnlyDocument;

const render = (text: string, from = "p2") =>
  renderChatMessage(doc, { id: "m1", from, name: "Bob <b>", text, ts: Date.UTC(2025, 0, 1, 12, 30) }, "p1") as unknown as FakeNode;

describe("renderChatMessage", () => {
  it("isolates the name and the text from the text around them", () => {
    const li = renderChatMessage(doc, { id: "m1", from: "p2", name: "Ada\u202Eexe.txt", text: "\u05E9\u05DC\u05D5\u05DD hi", ts: 0 }, "p1") as unknown as FakeNode;
    const name = li.all().find((n) => n.className === "chat-name");
    const text = li.all().find((n) => n.className === "chat-text");
    expect(name?.tagName).toBe("BDI");
    expect(name?.textContent).toBe("Ada\u202Eexe.txt");
    expect(text?.attrs.dir).toBe("auto");
  });
  it("keeps an HTML payload as text", () => {
    const payload = `<img src=x onerror="window.__pwned=1">`;
    const li = render(payload);
    const tags = li.all().map((n) => n.tagName);
    expect(tags).not.toContain("IMG");
    expect(li.all().some((n) => n.htmlWrites > 0)).toBe(false);
    const body = li.all().find((n) => n.className === "chat-text")!;
    expect(body.textContent).toBe(payload);
  });

  it("shows the sender name as text", () => {
    const li = render("hi");
    const name = li.all().find((n) => n.className === "chat-name")!;
    expect(name.textContent).toBe("Bob <b>");
    expect(li.all().map((n) => n.tagName)).not.toContain("B");
  });

  it("labels own messages", () => {
    const li = render("hi", "p1");
    expect(li.className).toContain("self");
    expect(li.all().find((n) => n.className === "chat-name")!.textContent).toBe("You");
  });

  it("renders links as text, not anchors", () => {
    const li = render(`see https://evil.example/x?a=1 and javascript:alert(1)`);
    const tags = li.all().map((n) => n.tagName);
    expect(tags).not.toContain("A");
    const link = li.all().find((n) => n.className === "chat-link")!;
    expect(link.textContent).toBe("https://evil.example/x?a=1");
    expect(li.all().find((n) => n.className === "chat-text")!.textContent).toBe(
      "see https://evil.example/x?a=1 and javascript:alert(1)",
    );
  });

  it("shows a shared file as a card: name as text, size, and a Download button", () => {
    const file = { id: "f".repeat(32), name: `<img src=x onerror=alert(1)>.pdf`, size: 2_400_000 };
    const asked: unknown[] = [];
    const li = renderChatMessage(doc, { id: "m2", from: "p2", name: "Bob", text: file.name, ts: 0, file }, "p1", (f) => asked.push(f)) as unknown as FakeNode;
    const all = li.all();
    expect(all.map((n) => n.tagName)).not.toContain("IMG");
    expect(all.some((n) => n.htmlWrites > 0)).toBe(false);
    expect(all.find((n) => n.className === "chat-file-name")!.textContent).toBe(file.name);
    expect(all.find((n) => n.className === "chat-file-size")!.textContent).toMatch(/^2[.,]4\s?MB$/);
    expect(all.find((n) => n.className === "chat-text")).toBeUndefined();
    const btn = all.find((n) => n.tagName === "BUTTON") as unknown as FakeNode & { onclick: () => void };
    expect(btn.attrs.type).toBe("button");
    btn.onclick();
    expect(asked).toEqual([file]);
  });

  it("has a machine-readable time", () => {
    const li = render("x");
    const t = li.all().find((n) => n.tagName === "TIME")!;
    expect(t.attrs.datetime).toBe("2025-01-01T12:30:00.000Z");
  });
});

describe("chatSegments", () => {
  it("splits links from text", () => {
    expect(chatSegments("a http://x.y/z b")).toEqual([
      { kind: "text", text: "a " },
      { kind: "link", text: "http://x.y/z" },
      { kind: "text", text: " b" },
    ]);
  });
  it("round-trips any text", () => {
    for (const s of ["", "plain", "https://a.b", "x<https://a.b/\"q>y", "<script>alert(1)</script>"]) {
      expect(chatSegments(s).map((p) => p.text).join("")).toBe(s);
    }
  });
});

describe("UnreadCounter", () => {
  it("counts only others' messages while closed", () => {
    const seen: number[] = [];
    const c = new UnreadCounter((n) => seen.push(n));
    c.received(false, false);
    c.received(true, false);
    c.received(false, true);
    c.received(false, false);
    expect(c.count).toBe(2);
    c.read();
    expect(seen).toEqual([1, 2, 0]);
  });
});
