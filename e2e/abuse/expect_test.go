package abuse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// expect is the reply an entry of the catalogue must get.
type expect struct {
	kind    replyKind
	code    string // signaling error code; CONNECT_ERROR message
	ackID   int64  // for ackError
	status  int    // HTTP status
	eioCode int    // Engine.IO error code in a 400 body; -1 for none
}

type replyKind int

const (
	// closed: the server ends the session (close frame, EOF, close packet,
	// or 400 on the polling request). Socket.IO servers answer a malformed
	// packet this way: there is no packet id to answer.
	closed replyKind = iota
	// signalingError: a signaling-error event with this code.
	signalingError
	// ackError: the ack of id with {ok:false, error:{code}}.
	ackError
	// connectError: CONNECT_ERROR whose message contains code.
	connectError
	// ignored: nothing to answer (the packet means nothing harmful); the
	// session must still work, shown by a probe event being answered.
	ignored
	// waitsForAttachments: the server holds the packet for its binary
	// attachments without answering; a text packet instead ends the session.
	waitsForAttachments
	// httpStatus: this HTTP status (and Engine.IO error code, when set).
	httpStatus
	// handshake: an Engine.IO open packet (the request is a valid handshake).
	handshake
	// custom: checked by the entry's own code; code describes it.
	custom
)

func wantCustom(desc string) expect { return expect{kind: custom, code: desc} }

func wantClosed() expect                 { return expect{kind: closed} }
func wantSignalingError(c string) expect { return expect{kind: signalingError, code: c} }
func wantAckError(id int64, c string) expect {
	return expect{kind: ackError, ackID: id, code: c}
}
func wantConnectError(msg string) expect { return expect{kind: connectError, code: msg} }
func wantIgnored() expect                { return expect{kind: ignored} }
func wantHTTP(status, eioCode int) expect {
	return expect{kind: httpStatus, status: status, eioCode: eioCode}
}

func (e expect) String() string {
	switch e.kind {
	case closed:
		return "session closed by the server"
	case signalingError:
		return "signaling-error " + e.code
	case ackError:
		return fmt.Sprintf("ack %d {ok:false, code %s}", e.ackID, e.code)
	case connectError:
		return fmt.Sprintf("CONNECT_ERROR %q", e.code)
	case ignored:
		return "ignored; the session still answers"
	case waitsForAttachments:
		return "held for its attachments; a text packet instead closes the session"
	case httpStatus:
		if e.eioCode >= 0 {
			return fmt.Sprintf("HTTP %d, Engine.IO code %d", e.status, e.eioCode)
		}
		return fmt.Sprintf("HTTP %d", e.status)
	case handshake:
		return "HTTP 200 with an Engine.IO open packet"
	default:
		return e.code
	}
}

// ErrWrongReply is wrapped by every mismatch between reply and expectation.
var ErrWrongReply = errors.New("wrong reply")

// probeAckID asks leave-room with an ack the server must answer with
// not-in-room: proof that the session is alive and in order.
const probeAckID = 777

var probe = []byte(`42` + strconv.Itoa(probeAckID) + `["leave-room"]`)

// checkWire reads what the server sends on w until want is met or refuted.
func checkWire(ctx context.Context, w wire, want expect) error {
	switch want.kind {
	case closed:
		return untilClosed(ctx, w)
	case signalingError:
		return untilSignalingError(ctx, w, want.code)
	case ackError:
		return untilAck(ctx, w, want.ackID, want.code)
	case connectError:
		msg, err := untilPrefix(ctx, w, "44")
		if err != nil {
			return err
		}
		if !strings.Contains(msg, want.code) {
			return fmt.Errorf("%w: %q", ErrWrongReply, msg)
		}
		return nil
	case ignored:
		if err := w.send(ctx, probe); err != nil {
			return err
		}
		return untilAck(ctx, w, probeAckID, "not-in-room")
	case waitsForAttachments:
		// Nothing comes back while the server waits: a short read times out.
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		msg, err := w.next(short)
		cancel()
		if err == nil || errors.Is(err, ErrServerClosed) {
			return fmt.Errorf("%w: got %q / %v while the attachment was pending", ErrWrongReply, msg, err)
		}
		if err := w.send(ctx, probe); err != nil {
			return err
		}
		return untilClosed(ctx, w)
	}
	return fmt.Errorf("%w: %v cannot be checked on a session", ErrWrongReply, want)
}

func untilClosed(ctx context.Context, w wire) error {
	for {
		msg, err := w.next(ctx)
		if errors.Is(err, ErrServerClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("session not closed: %w", err)
		}
		if strings.HasPrefix(msg, "43") || strings.HasPrefix(msg, `42["signaling-error"`) {
			return fmt.Errorf("%w: answered %q instead of closing", ErrWrongReply, abbreviate(msg))
		}
	}
}

func untilPrefix(ctx context.Context, w wire, prefix string) (string, error) {
	for {
		msg, err := w.next(ctx)
		if err != nil {
			return "", fmt.Errorf("waiting for %q: %w", prefix, err)
		}
		if strings.HasPrefix(msg, prefix) {
			return msg, nil
		}
	}
}

func untilSignalingError(ctx context.Context, w wire, code string) error {
	msg, err := untilPrefix(ctx, w, `42["signaling-error",`)
	if err != nil {
		return err
	}
	var args []json.RawMessage
	var body struct {
		Event, Code, Message string
	}
	if err := json.Unmarshal([]byte(msg[2:]), &args); err != nil || len(args) != 2 || json.Unmarshal(args[1], &body) != nil {
		return fmt.Errorf("%w: malformed signaling-error %q", ErrWrongReply, abbreviate(msg))
	}
	if body.Code != code || body.Message == "" || body.Event == "" {
		return fmt.Errorf("%w: signaling-error %q, want code %s", ErrWrongReply, abbreviate(msg), code)
	}
	return nil
}

// ackReply is the first argument of an ack.
type ackReply struct {
	OK    bool `json:"ok"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func parseAck(msg string) (int64, ackReply, error) {
	var r ackReply
	i := 2
	for i < len(msg) && msg[i] >= '0' && msg[i] <= '9' {
		i++
	}
	id, err := strconv.ParseInt(msg[2:i], 10, 64)
	if err != nil {
		return 0, r, fmt.Errorf("%w: ack %q", ErrWrongReply, msg)
	}
	var args []json.RawMessage
	if err := json.Unmarshal([]byte(msg[i:]), &args); err != nil || len(args) == 0 {
		return id, r, fmt.Errorf("%w: ack %q", ErrWrongReply, msg)
	}
	if err := json.Unmarshal(args[0], &r); err != nil {
		return id, r, fmt.Errorf("%w: ack %q", ErrWrongReply, msg)
	}
	return id, r, nil
}

func untilAck(ctx context.Context, w wire, id int64, code string) error {
	prefix := "43" + strconv.FormatInt(id, 10) + "["
	msg, err := untilPrefix(ctx, w, prefix)
	if err != nil {
		return err
	}
	_, r, err := parseAck(msg)
	if err != nil {
		return err
	}
	if r.OK || r.Error == nil || r.Error.Code != code || r.Error.Message == "" {
		return fmt.Errorf("%w: ack %q, want code %s", ErrWrongReply, abbreviate(msg), code)
	}
	return nil
}
