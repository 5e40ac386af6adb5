// @ts-check
/**
 * Huddle's embed API: a Huddle meeting inside your own page.
 *
 *   <script src="https://meet.example.com/external_api.js"></script>
 *   <div id="meeting" style="height: 600px"></div>
 *   <script>
 *     const meeting = new HuddleMeeting(document.getElementById("meeting"), {
 *       room: "team-standup", name: "Ada Lovelace", lang: "en",
 *       // token: "eyJ...",   // a join token, when the server runs --auth token
 *     });
 *     meeting.on("joined", (e) => console.log("joined as", e.id));
 *     meeting.on("chat", (m) => console.log(m.name + ": " + m.text));
 *     muteButton.onclick = async () => console.log(await meeting.toggleAudio()); // { audio: false }
 *   </script>
 *
 * The Huddle server must list your page's origin in --embed-origins, or the
 * browser refuses to show the meeting in a frame.
 *
 * Events (meeting.on(name, fn); on returns a function that unsubscribes):
 *   joined             { id, name, room, role }  in the meeting (after a waiting room)
 *   participantJoined  { id, name }              someone else is there (also those
 *                                                 already in the room when we join)
 *   participantLeft    { id, name }
 *   chat               { id, from, name, text, ts }  every message, ours too
 *                                                 (from === joined's id), and on
 *                                                 joining the meeting's history
 *   left               { reason }                "left" (hangup or the Leave button),
 *                                                 "removed", "denied" or "error"
 *   error              { code, message }         joining was refused (a wrong password,
 *                                                 an expired token, ...)
 *   ready              {}                        the frame's page listens (commands
 *                                                 wait for it by themselves)
 *
 * Commands return promises; a refusal rejects with an Error whose code is
 * "not-joined", "bad-argument", "unknown-command", "failed", "timeout" or
 * "disposed":
 *   toggleAudio()   -> { audio: boolean }  microphone on or off
 *   toggleVideo()   -> { video: boolean }  camera on or off
 *   sendChat(text)  -> {}                  a chat message in our name
 *   hangup()        -> {}                  leave the meeting (then "left")
 *   dispose()                              remove the frame and stop listening
 *
 * Messages are exchanged with postMessage and checked both ways: this script
 * hears only messages from its own frame on the Huddle server's origin, and
 * posts only to that origin; the meeting hears only its parent on an origin
 * in --embed-origins.
 */
(function () {
  "use strict";

  /** The protocol's name and version (web/src/embed.ts speaks the other side). */
  const protocol = "huddle-embed-1";
  /** How long a command may wait for its answer, the frame's loading included. */
  const commandTimeoutMs = 30000;
  const roomPattern = /^[A-Za-z0-9_-]{1,64}$/;

  // The server is where this script came from, unless told otherwise:
  // document.currentScript exists only while the script first runs.
  const current = document.currentScript;
  const scriptOrigin = current instanceof HTMLScriptElement && current.src ? new URL(current.src).origin : "";

  /** @param {string} s */
  function originOf(s) {
    const u = new URL(s, location.href);
    if (u.protocol !== "https:" && u.protocol !== "http:") throw new TypeError("HuddleMeeting: server must be an http(s) URL");
    return u.origin;
  }

  /**
   * @param {string} code
   * @param {string} message
   */
  function commandError(code, message) {
    const err = /** @type {Error & { code: string }} */ (new Error(message));
    err.code = code;
    return err;
  }

  /**
   * @typedef {object} HuddleOptions
   * @property {string} room     the meeting code, e.g. "abc-defg-hij" (letters, digits, - and _)
   * @property {string} [name]   the display name; given, the meeting is joined without the prejoin click
   * @property {string} [token]  a join token (--auth token)
   * @property {string} [lang]   en, de, fr, es or ar; default: the browser's language
   * @property {string} [server] the Huddle server's URL; default: where this script was loaded from
   * @property {string} [title]  the frame's accessible title
   */

  class HuddleMeeting {
    /**
     * @param {Element} parentElement the frame is appended to it and fills it
     * @param {HuddleOptions} options
     */
    constructor(parentElement, options) {
      if (!(parentElement instanceof Element)) throw new TypeError("HuddleMeeting: parentElement must be an element");
      const o = options || /** @type {HuddleOptions} */ ({});
      if (typeof o.room !== "string" || !roomPattern.test(o.room)) throw new TypeError("HuddleMeeting: room must be 1-64 letters, digits, - or _");
      const server = o.server || scriptOrigin;
      if (!server) throw new TypeError("HuddleMeeting: cannot tell the server's address; pass options.server");
      /** The Huddle server's origin: the only one this meeting talks to. */
      this.origin = originOf(server);

      const url = new URL("/" + o.room, this.origin);
      url.searchParams.set("embed", location.origin);
      if (o.name) url.searchParams.set("name", String(o.name));
      if (o.lang) url.searchParams.set("lang", String(o.lang));
      if (o.token) url.searchParams.set("token", String(o.token));

      /** @type {Map<string, Set<(data: any) => void>>} */
      this._handlers = new Map();
      /** @type {Map<number, { resolve: (v: any) => void, reject: (e: Error) => void, timer: ReturnType<typeof setTimeout> }>} */
      this._pending = new Map();
      /** @type {object[]} commands posted before the frame listens */
      this._queue = [];
      this._ready = false;
      this._nextId = 1;
      this._disposed = false;

      const iframe = document.createElement("iframe");
      iframe.src = url.href;
      iframe.allow = "camera; microphone; display-capture; autoplay; fullscreen";
      iframe.title = o.title || "Huddle meeting";
      iframe.referrerPolicy = "no-referrer";
      iframe.style.cssText = "border: 0; width: 100%; height: 100%; display: block;";
      /** The meeting's frame. */
      this.iframe = iframe;

      this._listener = (/** @type {MessageEvent} */ e) => this._receive(e);
      window.addEventListener("message", this._listener);
      parentElement.appendChild(iframe);
    }

    /**
     * on calls fn with each event of that name; it returns a function that
     * stops it.
     * @param {string} name
     * @param {(data: any) => void} fn
     */
    on(name, fn) {
      let set = this._handlers.get(name);
      if (!set) this._handlers.set(name, (set = new Set()));
      set.add(fn);
      return () => this.off(name, fn);
    }

    /**
     * @param {string} name
     * @param {(data: any) => void} fn
     */
    off(name, fn) {
      this._handlers.get(name)?.delete(fn);
    }

    /** @returns {Promise<{ audio: boolean }>} */
    toggleAudio() {
      return this._command("toggleAudio", []);
    }

    /** @returns {Promise<{ video: boolean }>} */
    toggleVideo() {
      return this._command("toggleVideo", []);
    }

    /** @returns {Promise<{}>} */
    hangup() {
      return this._command("hangup", []);
    }

    /**
     * @param {string} text
     * @returns {Promise<{}>}
     */
    sendChat(text) {
      if (typeof text !== "string") return Promise.reject(commandError("bad-argument", "sendChat: text must be a string"));
      return this._command("sendChat", [text]);
    }

    /** dispose removes the frame (which leaves the meeting) and stops listening. */
    dispose() {
      if (this._disposed) return;
      this._disposed = true;
      window.removeEventListener("message", this._listener);
      this.iframe.remove();
      for (const [, p] of this._pending) {
        clearTimeout(p.timer);
        p.reject(commandError("disposed", "the meeting was disposed"));
      }
      this._pending.clear();
      this._queue = [];
      this._handlers.clear();
    }

    /**
     * @param {string} command
     * @param {unknown[]} args
     * @returns {Promise<any>}
     */
    _command(command, args) {
      if (this._disposed) return Promise.reject(commandError("disposed", "the meeting was disposed"));
      const id = this._nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this._pending.delete(id);
          reject(commandError("timeout", command + ": no answer from the meeting"));
        }, commandTimeoutMs);
        this._pending.set(id, { resolve, reject, timer });
        const message = { huddle: protocol, kind: "command", id, command, args };
        if (this._ready) this._post(message);
        else this._queue.push(message);
      });
    }

    /** @param {object} message */
    _post(message) {
      // targetOrigin: the browser delivers it only to a page of the Huddle
      // server, never to whatever else the frame may have been navigated to.
      this.iframe.contentWindow?.postMessage(message, this.origin);
    }

    /** @param {MessageEvent} e */
    _receive(e) {
      // Only our own frame, on the Huddle server's origin: other frames and
      // windows post messages too.
      if (e.source !== this.iframe.contentWindow || e.origin !== this.origin) return;
      const m = e.data;
      if (!m || typeof m !== "object" || m.huddle !== protocol) return;
      switch (m.kind) {
        case "ready":
          this._ready = true;
          for (const q of this._queue.splice(0)) this._post(q);
          this._emit("ready", {});
          break;
        case "event":
          if (typeof m.event === "string") this._emit(m.event, m.data);
          break;
        case "result": {
          const p = this._pending.get(m.id);
          if (!p) return;
          this._pending.delete(m.id);
          clearTimeout(p.timer);
          if (m.ok) p.resolve(m.data ?? {});
          else p.reject(commandError(String(m.code), "refused: " + String(m.code)));
          break;
        }
      }
    }

    /**
     * @param {string} name
     * @param {unknown} data
     */
    _emit(name, data) {
      for (const fn of this._handlers.get(name) ?? []) {
        try {
          fn(data);
        } catch (err) {
          console.error("HuddleMeeting " + name + " handler:", err);
        }
      }
    }
  }

  /** @type {any} */ (window).HuddleMeeting = HuddleMeeting;
})();
