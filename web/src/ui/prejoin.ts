// The pre-join page: preview, level meter, device choice, name, Join.
import { canChooseSpeaker, getLocalMedia, LevelMeter, listDevices, stopStream } from "../media";
import { h, icon, type View } from "./dom";

const nameKey = "huddle.name";

export interface JoinChoice {
  stream: MediaStream;
  micOn: boolean;
  camOn: boolean;
  audioDeviceId?: string;
  videoDeviceId?: string;
  speakerId?: string;
  name: string;
  password: string;
}

export interface PrejoinHandle extends View {
  /** fail shows why joining did not work and lets the person try again. */
  fail(message: string, needPassword?: boolean): void;
}

export function rememberedName(): string {
  try {
    return localStorage.getItem(nameKey) ?? "";
  } catch {
    return "";
  }
}

function rememberName(name: string): void {
  try {
    localStorage.setItem(nameKey, name);
  } catch {
    // Private mode: nothing to remember with.
  }
}

export function prejoinView(code: string, onJoin: (c: JoinChoice) => void, message = ""): PrejoinHandle {
  let stream = new MediaStream();
  let micOn = true;
  let camOn = true;
  let meter: LevelMeter | null = null;
  let disposed = false;
  let handedOver = false;

  const video = h("video", { class: "preview-video mirrored", autoplay: true, playsinline: true, muted: true });
  video.muted = true;
  const offNote = h("div", { class: "preview-off" }, "Camera is off");
  const meterFill = h("div", { class: "meter-fill" });
  const meterEl = h("div", { class: "meter", role: "meter", "aria-label": "Microphone level", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": 0 }, meterFill);
  const micBtn = h("button", { class: "round", type: "button", id: "prejoin-mic" });
  const camBtn = h("button", { class: "round", type: "button", id: "prejoin-cam" });
  const camSel = h("select", { id: "camera-select", "aria-label": "Camera" });
  const micSel = h("select", { id: "mic-select", "aria-label": "Microphone" });
  const spkSel = h("select", { id: "speaker-select", "aria-label": "Speaker" });
  const problems = h("div", { class: "problems", role: "status", "aria-live": "polite" });
  const errorEl = h("p", { class: "form-error", role: "alert" }, message);
  const nameInput = h("input", { id: "name", type: "text", maxlength: 64, autocomplete: "name", placeholder: "Your name", required: true });
  nameInput.value = rememberedName();
  const pwInput = h("input", { id: "password", type: "password", autocomplete: "off", placeholder: "Meeting password" });
  const pwRow = h("label", { class: "field", hidden: true }, h("span", {}, "Meeting password"), pwInput);
  const joinBtn = h("button", { type: "submit", class: "primary big", id: "join", "aria-label": "Join now" }, "Join now");

  const render = () => {
    const hasMic = stream.getAudioTracks().length > 0;
    const hasCam = stream.getVideoTracks().some((t) => t.readyState === "live");
    micBtn.replaceChildren(icon(micOn && hasMic ? "mic" : "micOff"));
    micBtn.setAttribute("aria-label", micOn ? "Turn off microphone" : "Turn on microphone");
    micBtn.classList.toggle("off", !micOn || !hasMic);
    camBtn.replaceChildren(icon(camOn && hasCam ? "cam" : "camOff"));
    camBtn.setAttribute("aria-label", camOn ? "Turn off camera" : "Turn on camera");
    camBtn.classList.toggle("off", !camOn || !hasCam);
    offNote.hidden = camOn && hasCam;
    offNote.textContent = camOn ? "Camera is starting…" : "Camera is off";
    if (camOn && !hasCam) offNote.textContent = "No camera";
  };

  const fillSelect = (sel: HTMLSelectElement, devices: MediaDeviceInfo[], current: string | undefined, label: string) => {
    sel.replaceChildren(
      ...devices.map((d, i) => {
        const o = h("option", { value: d.deviceId }, d.label || `${label} ${i + 1}`);
        o.selected = d.deviceId === current;
        return o;
      }),
    );
    sel.disabled = devices.length === 0;
    if (devices.length === 0) sel.append(h("option", {}, `No ${label.toLowerCase()} found`));
  };

  const refreshDevices = async () => {
    const d = await listDevices();
    const aId = stream.getAudioTracks()[0]?.getSettings().deviceId;
    const vId = stream.getVideoTracks()[0]?.getSettings().deviceId;
    fillSelect(camSel, d.cameras, vId, "Camera");
    fillSelect(micSel, d.microphones, aId, "Microphone");
    if (canChooseSpeaker()) fillSelect(spkSel, d.speakers, spkSel.value || undefined, "Speaker");
    else {
      spkSel.replaceChildren(h("option", {}, "System default"));
      spkSel.disabled = true;
    }
  };

  const acquire = async (audio: boolean, video: boolean) => {
    const r = await getLocalMedia({
      audio,
      video,
      audioDeviceId: micSel.value || undefined,
      videoDeviceId: camSel.value || undefined,
    });
    if (disposed) {
      stopStream(r.stream);
      return;
    }
    problems.replaceChildren(...r.problems.map((p) => h("p", {}, p)));
    return r.stream;
  };

  const setStream = (s: MediaStream) => {
    stream = s;
    video.srcObject = s;
    meter?.close();
    meter = new LevelMeter(s);
    render();
  };

  // Join waits for the first camera/microphone answer, so nobody joins
  // with nothing while the permission prompt is still open.
  const start = async () => {
    joinBtn.disabled = true;
    try {
      const s = await acquire(true, true);
      if (!s) return;
      setStream(s);
      await refreshDevices();
    } finally {
      joinBtn.disabled = false;
    }
  };

  const replaceKind = async (kind: "audio" | "video") => {
    const s = await acquire(kind === "audio", kind === "video");
    if (!s) return;
    const keep = kind === "audio" ? stream.getVideoTracks() : stream.getAudioTracks();
    const drop = kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks();
    drop.forEach((t) => t.stop());
    const next = new MediaStream([...keep, ...s.getTracks()]);
    next.getAudioTracks().forEach((t) => (t.enabled = micOn));
    setStream(next);
  };

  micBtn.addEventListener("click", async () => {
    micOn = !micOn;
    if (micOn && stream.getAudioTracks().length === 0) await replaceKind("audio");
    stream.getAudioTracks().forEach((t) => (t.enabled = micOn));
    render();
  });
  camBtn.addEventListener("click", async () => {
    camOn = !camOn;
    if (!camOn) {
      // Stop, not just disable: the camera light goes off.
      stream.getVideoTracks().forEach((t) => {
        t.stop();
        stream.removeTrack(t);
      });
      render();
    } else {
      render();
      await replaceKind("video");
    }
  });
  camSel.addEventListener("change", () => camOn && void replaceKind("video"));
  micSel.addEventListener("change", () => void replaceKind("audio"));
  spkSel.addEventListener("change", () => {
    if (spkSel.value) void video.setSinkId?.(spkSel.value).catch(() => {});
  });
  navigator.mediaDevices?.addEventListener?.("devicechange", refreshDevices);

  const meterTimer = setInterval(() => {
    const lvl = micOn && meter ? meter.level() : 0;
    meterFill.style.transform = `scaleX(${lvl.toFixed(3)})`;
    meterEl.setAttribute("aria-valuenow", String(Math.round(lvl * 100)));
  }, 100);

  const form = h(
    "form",
    {
      class: "join-panel",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const name = nameInput.value.trim();
        if (!name) {
          errorEl.textContent = "Please enter your name.";
          nameInput.focus();
          return;
        }
        rememberName(name);
        errorEl.textContent = "";
        joinBtn.disabled = true;
        joinBtn.textContent = "Joining…";
        handedOver = true;
        onJoin({
          stream,
          micOn,
          camOn,
          audioDeviceId: micSel.value || undefined,
          videoDeviceId: camSel.value || undefined,
          speakerId: canChooseSpeaker() ? spkSel.value || undefined : undefined,
          name,
          password: pwInput.value,
        });
      },
    },
    h("h1", {}, "Ready to join?"),
    h("p", { class: "meeting-code" }, code),
    h("label", { class: "field" }, h("span", {}, "Your name"), nameInput),
    pwRow,
    errorEl,
    joinBtn,
    h("p", { class: "small-links" }, h("a", { href: "/check" }, "Check your connection"), " · ", h("a", { href: "/" }, "Back to home")),
  );

  const el = h(
    "div",
    { class: "prejoin" },
    h(
      "section",
      { class: "preview-col" },
      h("div", { class: "preview" }, video, offNote, h("div", { class: "preview-controls" }, micBtn, camBtn), meterEl),
      h(
        "div",
        { class: "devices" },
        h("label", { class: "field" }, h("span", {}, "Camera"), camSel),
        h("label", { class: "field" }, h("span", {}, "Microphone"), micSel),
        h("label", { class: "field" }, h("span", {}, "Speaker"), spkSel),
      ),
      problems,
    ),
    form,
  );
  render();
  void start();
  setTimeout(() => nameInput.value || nameInput.focus(), 0);

  return {
    el,
    fail(msg: string, needPassword = false) {
      handedOver = false;
      errorEl.textContent = msg;
      joinBtn.disabled = false;
      joinBtn.textContent = "Join now";
      if (needPassword) {
        pwRow.hidden = false;
        pwInput.focus();
      }
    },
    dispose() {
      disposed = true;
      clearInterval(meterTimer);
      meter?.close();
      navigator.mediaDevices?.removeEventListener?.("devicechange", refreshDevices);
      if (!handedOver) stopStream(stream);
    },
  };
}
