package signaling

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/huddlehq/huddle/internal/socketio"
)

// relay forwards {to, field} as the same event {from, field}.
func (s *Service) relay(event, field string) handler {
	return s.relayAs(event, field, field)
}

// relayAs forwards {to, in} to the member `to` of the sender's room as
// event {from, out}. The payload is passed through untouched.
func (s *Service) relayAs(event, in, out string) handler {
	prefix := `{"from":`
	return func(ss *session, ev *socketio.Event) error {
		start := time.Now()
		to, body, err := parseRelay(ev.Args, in)
		if err != nil {
			return err
		}
		r, p, err := ss.joined()
		if err != nil {
			return err
		}
		buf := make([]byte, 0, len(prefix)+len(p.ID)+len(out)+len(body)+8)
		buf = append(buf, prefix...)
		buf = strconv.AppendQuote(buf, p.ID) // ids are ASCII: Go and JSON quoting agree
		buf = append(buf, ',', '"')
		buf = append(buf, out...)
		buf = append(buf, '"', ':')
		buf = append(buf, body...)
		buf = append(buf, '}')
		pkt, err := socketio.EncodeEvent(event, json.RawMessage(buf))
		if err != nil {
			return ErrBadRequest
		}
		if err := r.DeliverTo(to, pkt); err != nil {
			return err
		}
		ack(ev, ackOK{OK: true})
		s.metrics.ObserveRelay(time.Since(start))
		return nil
	}
}
