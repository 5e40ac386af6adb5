package socketio

import (
	"net/http"
	"strconv"

	"github.com/huddlehq/huddle/engineio"
)

// Remote clients: a cluster node that holds a client's connection but not
// its room relays the client to the room's home node. There the client is
// a virtual Engine.IO session (engineio.Server.OpenVirtual) carrying the
// very Socket.IO packets the client sends and receives, so the home's
// handlers, rooms and acks treat it as any other socket.

// OpenRemote makes a virtual session on this server for a client whose
// connection another server holds; see engineio.Server.OpenVirtual. The
// caller delivers the client's packets (its CONNECT first) with
// Session.Deliver, out gets what this server sends it, and closed is
// told when the session has ended. id (empty: a new one) is the client's
// socket id on the other server: its socket of "/" here gets the same id,
// so that both servers know the client by one id.
func (s *Server) OpenRemote(r *http.Request, id string, transport engineio.Transport, out func([]engineio.Packet), closed func(reason string)) (*engineio.Session, error) {
	return s.engine.OpenVirtual(r, id, transport, out, closed)
}

// Remote reports whether the socket is a remote client (see OpenRemote).
func (s *Socket) Remote() bool { return s.sess.Virtual() }

// Encode returns the event as Engine.IO messages, as its client sent it
// (same namespace and acknowledgement id, attachments after it), for
// relaying it to another server that answers the client itself.
func (e *Event) Encode() []engineio.Packet {
	head := make([]byte, 0, 64)
	if len(e.Attachments) == 0 {
		head = append(head, typeEvent)
	} else {
		head = append(head, typeBinaryEvent)
		head = strconv.AppendInt(head, int64(len(e.Attachments)), 10)
		head = append(head, '-')
	}
	if e.sock != nil {
		head = appendNamespace(head, e.sock.nsp.head)
	}
	if e.ackID >= 0 {
		head = strconv.AppendInt(head, e.ackID, 10)
	}
	head = append(head, '[')
	head = appendJSONString(head, e.Name)
	for _, a := range e.Args {
		head = append(head, ',')
		head = append(head, a...)
	}
	head = append(head, ']')
	out := make([]engineio.Packet, 0, 1+len(e.Attachments))
	out = append(out, engineio.Packet{Type: engineio.Message, Data: head})
	for _, a := range e.Attachments {
		out = append(out, engineio.Packet{Type: engineio.Message, Data: a, Binary: true})
	}
	return out
}

// SendMessages queues Engine.IO messages that are already Socket.IO packets
// of this socket's namespace (another server's answers to a client this
// one relays), together.
func (s *Socket) SendMessages(msgs ...engineio.Packet) error {
	err := s.sess.SendAllFrom(nil, msgs...)
	if err == engineio.ErrClosed {
		return ErrSocketClosed
	}
	return err
}

// Close ends the socket's whole session with reason, flushing what is
// queued but sending no DISCONNECT: the client sees its transport close
// and reconnects (used when the server a remote client was relayed to
// dropped it).
func (s *Socket) Close(reason string) { s.sess.Close(reason) }

// PacketOf returns, as a Packet to Send, an Engine.IO message that is an
// EVENT of the main namespace without an acknowledgement id (what a server
// emits to a client), or false for anything else (acks, CONNECT, binary,
// other namespaces): a cluster node hands a client that moved the events
// another node never delivered to it, but not the answers to requests of
// a connection that is gone.
func PacketOf(m engineio.Packet) (*Packet, bool) {
	d := m.Data
	if m.Binary || len(d) < 3 || d[0] != typeEvent || d[1] != '[' || d[len(d)-1] != ']' {
		return nil, false
	}
	return &Packet{data: append([]byte(nil), d...)}, true
}
