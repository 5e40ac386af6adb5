import { describe, expect, it } from "vitest";
import { Banner, classify, classifySend, delta, type Counters } from "./quality";

const zero: Counters = { packetsReceived: 0, packetsLost: 0, framesDecoded: 0, jitter: 0, rtt: 0.02, sendLoss: -1, at: 0, video: true };

describe("delta", () => {
  it("measures loss and frame rate between two readings", () => {
    const s = delta(zero, { ...zero, packetsReceived: 880, packetsLost: 120, framesDecoded: 60, at: 2000, jitter: 0.004 });
    expect(s.lossPct).toBeCloseTo(12);
    expect(s.fps).toBe(30);
    expect(s.rttMs).toBe(20);
    expect(s.jitterMs).toBe(4);
  });
  it("has no frame rate without video, and no loss without packets", () => {
    const s = delta({ ...zero, video: false }, { ...zero, video: false, at: 1000 });
    expect(s).toMatchObject({ lossPct: 0, fps: -1 });
  });
});

describe("classify", () => {
  const good = { lossPct: 0, rttMs: 40, jitterMs: 5, fps: 30 };
  it("says it in plain words", () => {
    expect(classify(good)).toEqual({ level: 3, text: "Good connection" });
    expect(classify({ ...good, lossPct: 12.2 })).toEqual({ level: 1, text: "Poor connection: 12 % of packets lost" });
    expect(classify({ ...good, lossPct: 4 })).toEqual({ level: 2, text: "Unstable connection: 4 % of packets lost" });
    expect(classify({ ...good, rttMs: 620 }).text).toBe("Poor connection: 620 ms delay");
    expect(classify({ ...good, rttMs: 300 }).level).toBe(2);
    expect(classify({ ...good, jitterMs: 80 }).level).toBe(2);
    expect(classify({ ...good, fps: 2 }).level).toBe(1);
    expect(classify({ ...good, fps: 8 }).level).toBe(2);
    expect(classify({ ...good, fps: -1 }).level).toBe(3);
  });
  it("rates what we send from the far end's figures", () => {
    expect(classifySend(0.15, 50).text).toBe("Poor connection: 15 % of packets lost");
    expect(classifySend(-1, 50).level).toBe(3);
    expect(classifySend(0, 800)).toEqual({ level: 2, text: "Unstable connection: 800 ms delay" });
    expect(classifySend(0, 1200).level).toBe(1);
  });
});

describe("Banner", () => {
  it("needs two poor readings to show and two good ones to go", () => {
    const b = new Banner(2);
    expect([1, 3, 1, 1, 2, 1, 3, 3].map((l) => b.update(l as 1 | 2 | 3))).toEqual([false, false, false, true, true, true, true, false]);
  });
});
