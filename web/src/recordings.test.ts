import { describe, expect, it } from "vitest";
import { duration, fileLabel } from "./ui/recordings-panel";
import { text } from "./i18n";
import { normalizeJoined, type RecordingListing } from "./signaling";
import { firstRecordingNotice } from "./meeting";

const rec: RecordingListing = {
  id: "20261206T225411Z-55f7502eeb1490611feb13b5ad66b03f",
  started: "2026-12-06T22:54:11Z",
  stopped: "2026-12-06T22:56:16.6Z",
  participants: [{ id: "a1", name: "Ada" }, { id: "b2" }],
  tracks: [
    { file: "track-1.webm", participant: "a1", kind: "video" },
    { file: "track-2.webm", participant: "b2", kind: "audio" },
  ],
  composed: "composed.mp4",
  files: [],
};

describe("recordings panel", () => {
  it("names each file for people", () => {
    expect(text(fileLabel(rec, "composed.mp4"))).toBe("Meeting video (MP4)");
    expect(text(fileLabel(rec, "manifest.json"))).toBe("Details (JSON)");
    expect(text(fileLabel(rec, "track-1.webm"))).toBe("Ada: camera (WebM)");
    // A participant without a name is shown by id.
    expect(text(fileLabel(rec, "track-2.webm"))).toBe("b2: microphone (WebM)");
    expect(text(fileLabel(rec, "track-9.webm"))).toBe("track-9.webm");
  });
  it("gives the length as m:ss, nothing while it runs", () => {
    expect(duration(rec.started, rec.stopped)).toBe("2:06");
    expect(duration(rec.started)).toBe("");
  });
});

describe("server recording notice and join ack", () => {
  it("shows the notice once per recording, again for the next one", () => {
    let noticed = false;
    const seen: boolean[] = [];
    for (const active of [true, true, false, true]) {
      seen.push(firstRecordingNotice(noticed, active));
      noticed = active;
    }
    expect(seen).toEqual([true, false, false, true]);
  });
  it("reads serverRecording from the join ack, false when absent", () => {
    expect(normalizeJoined({ id: "a", serverRecording: true }).serverRecording).toBe(true);
    expect(normalizeJoined({ id: "a" }).serverRecording).toBe(false);
    expect(normalizeJoined({ id: "a", serverRecording: "yes" }).serverRecording).toBe(false);
  });
});
