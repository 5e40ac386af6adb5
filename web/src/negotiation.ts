// The "perfect negotiation" pattern (W3C WebRTC spec, section 10.7): either
// side may start a negotiation at any time; when offers cross (glare) the
// polite side rolls its own offer back and answers, the impolite side
// ignores the incoming offer. Nothing here touches the network or the DOM,
// so the state machine is tested with fake peer connections.

/** The part of RTCPeerConnection the negotiator uses. */
export interface NegotiablePeerConnection {
  readonly signalingState: RTCSignalingState;
  readonly localDescription: { type: RTCSdpType; sdp: string } | null;
  setLocalDescription(description?: RTCSessionDescriptionInit): Promise<void>;
  setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void>;
  addIceCandidate(candidate?: RTCIceCandidateInit | null): Promise<void>;
}

/** Where the negotiator sends its descriptions. */
export type SendDescription = (description: RTCSessionDescriptionInit) => void;

export interface NegotiatorOptions {
  /** The polite side yields when offers collide. Exactly one side must be polite. */
  polite: boolean;
  send: SendDescription;
  /**
   * beforeAnswer runs after a remote offer has been applied and before the
   * answer is made: the place to attach local tracks to the transceivers the
   * offer created.
   */
  beforeAnswer?: () => Promise<void> | void;
  /** onError reports failures that are not part of the pattern (logged by default). */
  onError?: (err: unknown) => void;
}

/**
 * isPolite decides politeness from the two participant ids so that both
 * sides agree without talking: the smaller id is polite.
 */
export function isPolite(selfId: string, peerId: string): boolean {
  return selfId < peerId;
}

/**
 * Negotiator runs perfect negotiation for one peer connection. Call
 * negotiationNeeded from pc.onnegotiationneeded, and description / candidate
 * for what the remote side sends. Remote messages are applied one at a time,
 * in the order received.
 */
export class Negotiator {
  makingOffer = false;
  ignoreOffer = false;
  isSettingRemoteAnswerPending = false;

  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly pc: NegotiablePeerConnection,
    private readonly opts: NegotiatorOptions,
  ) {}

  get polite(): boolean {
    return this.opts.polite;
  }

  /** negotiationNeeded makes and sends an offer (implicit setLocalDescription). */
  async negotiationNeeded(): Promise<void> {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      const d = this.pc.localDescription;
      if (d) this.opts.send({ type: d.type, sdp: d.sdp });
    } catch (err) {
      this.fail(err);
    } finally {
      this.makingOffer = false;
    }
  }

  /** description handles a remote offer or answer. */
  description(description: RTCSessionDescriptionInit): Promise<void> {
    return this.enqueue(() => this.applyDescription(description));
  }

  /** candidate handles a remote ICE candidate (null or {} ends the candidates). */
  candidate(candidate: RTCIceCandidateInit | null): Promise<void> {
    return this.enqueue(async () => {
      try {
        await this.pc.addIceCandidate(candidate ?? undefined);
      } catch (err) {
        // Candidates of an offer we chose to ignore fail; that is expected.
        if (!this.ignoreOffer) throw err;
      }
    });
  }

  private async applyDescription(description: RTCSessionDescriptionInit): Promise<void> {
    const readyForOffer =
      !this.makingOffer && (this.pc.signalingState === "stable" || this.isSettingRemoteAnswerPending);
    const offerCollision = description.type === "offer" && !readyForOffer;
    this.ignoreOffer = !this.opts.polite && offerCollision;
    if (this.ignoreOffer) return;
    this.isSettingRemoteAnswerPending = description.type === "answer";
    try {
      // For the polite side an offer in have-local-offer rolls back implicitly.
      await this.pc.setRemoteDescription(description);
    } finally {
      this.isSettingRemoteAnswerPending = false;
    }
    if (description.type === "offer") {
      await this.opts.beforeAnswer?.();
      await this.pc.setLocalDescription();
      const d = this.pc.localDescription;
      if (d) this.opts.send({ type: d.type, sdp: d.sdp });
    }
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.queue.then(step).catch((err) => this.fail(err));
    this.queue = run;
    return run;
  }

  private fail(err: unknown): void {
    if (this.opts.onError) this.opts.onError(err);
    else console.warn("negotiation:", err);
  }
}
