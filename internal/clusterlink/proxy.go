package clusterlink

import (
	"encoding/json"
	"sync"

	"github.com/huddlehq/huddle/engineio"
	"github.com/huddlehq/huddle/internal/cluster"
	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/huddlehq/huddle/socketio"
)

// relayedHeaders are the opening request's headers the home sees: those
// that say who the client is, as engineio keeps them.
var relayedHeaders = []string{"X-Forwarded-For", "X-Real-Ip", "User-Agent", "Origin", "Accept-Language", "Host"}

// proxy relays one socket held here to its room's home.
type proxy struct {
	l    *Link
	sock *socketio.Socket
	conn string
	room string

	mu     sync.Mutex
	home   string
	hops   int
	opened bool
	done   bool
	// pending is what is sent again on moved, until opened; then nil, so
	// that a relayed socket keeps neither for its life.
	pending *pendingOpen
}

// pendingOpen is what a proxy sent its home before the home took it.
type pendingOpen struct {
	open []byte   // the open message
	sent [][]byte // in messages since the open
}

var _ signaling.Remote = (*proxy)(nil)

func (l *Link) startProxy(sock *socketio.Socket, room, home string, auth json.RawMessage) (signaling.Remote, error) {
	o := openMsg{Conn: sock.ID(), Transport: sock.Transport(), Addr: sock.RemoteAddr(), Auth: auth, Header: map[string][]string{}}
	for _, h := range relayedHeaders {
		if v := sock.Header(h); len(v) > 0 {
			o.Header[h] = v
		}
	}
	if r := sock.Request(); r != nil && r.Host != "" {
		o.Header["Host"] = []string{r.Host}
	}
	b, _ := json.Marshal(o)
	p := &proxy{l: l, sock: sock, conn: o.Conn, room: room, home: home, pending: &pendingOpen{open: b}}
	l.mu.Lock()
	l.proxies[p.conn] = p
	l.mu.Unlock()
	if err := l.publish(home, room, typeOpen, b); err != nil {
		p.Close("relay failed")
		return nil, err
	}
	l.log.Debug("cluster: relaying socket to its room's home", "room", room, "home", home, "socket", p.conn)
	return p, nil
}

// Forward relays one of the client's events to the home.
func (p *proxy) Forward(ev *socketio.Event) {
	data := encodePackets(p.conn, ev.Encode())
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return
	}
	if pd := p.pending; pd != nil {
		pd.sent = append(pd.sent, data)
	}
	home := p.home
	p.mu.Unlock()
	p.l.stats.relayedIn.Add(1)
	if p.l.publish(home, p.room, typeIn, data) != nil {
		p.sock.Close("relay backlog full")
	}
}

// Close tells the home that the client's connection ended.
func (p *proxy) Close(reason string) {
	p.mu.Lock()
	already := p.done
	p.done = true
	home := p.home
	p.mu.Unlock()
	p.l.mu.Lock()
	if p.l.proxies[p.conn] == p {
		delete(p.l.proxies, p.conn)
	}
	p.l.mu.Unlock()
	if !already {
		_ = p.l.publishJSON(home, p.room, typeClose, connMsg{Conn: p.conn, Reason: reason})
	}
}

// toProxy handles the home's messages for a socket held here.
func (l *Link) toProxy(ev cluster.Event) {
	var conn string
	var ps []engineio.Packet
	var m connMsg
	if ev.Type == typeOut {
		var err error
		if conn, ps, err = decodePackets(ev.Data); err != nil {
			l.stats.dropped.Add(1)
			return
		}
	} else {
		if json.Unmarshal(ev.Data, &m) != nil {
			l.stats.dropped.Add(1)
			return
		}
		conn = m.Conn
	}
	l.mu.Lock()
	p := l.proxies[conn]
	l.mu.Unlock()
	if p == nil {
		l.stats.dropped.Add(1)
		return
	}
	p.mu.Lock()
	current := ev.From == p.home
	p.mu.Unlock()
	if !current {
		return // a former home's answer, after moved
	}
	switch ev.Type {
	case typeOut:
		p.deliver(ps)
	case typeOpened:
		p.mu.Lock()
		p.opened = true
		p.pending = nil // only a moved, which comes before opened, sends it again
		p.mu.Unlock()
	case typeMoved:
		p.move(m.Node)
	case typeClosed:
		p.mu.Lock()
		p.done = true
		p.mu.Unlock()
		l.mu.Lock()
		delete(l.proxies, conn)
		l.mu.Unlock()
		// What the home sent before (a DISCONNECT when it removed the
		// participant) is queued before the close.
		p.sock.Close(m.Reason)
	}
}

// deliver writes the home's packets to the client, but the home's answer
// to the relayed CONNECT: the client had its own from this node.
func (p *proxy) deliver(ps []engineio.Packet) {
	out := ps[:0:0]
	for _, pk := range ps {
		if !pk.Binary && len(pk.Data) > 0 && (pk.Data[0] == '0' || pk.Data[0] == '4') {
			if pk.Data[0] == '4' { // the home refused the CONNECT
				p.l.log.Info("cluster: home refused relayed socket", "socket", p.conn, "answer", string(pk.Data))
				p.sock.Close("refused by the room's home")
				return
			}
			continue
		}
		out = append(out, pk)
	}
	if len(out) == 0 {
		return
	}
	p.l.stats.relayedOut.Add(int64(len(out)))
	if err := p.sock.SendMessages(out...); err != nil {
		p.l.log.Debug("cluster: relayed packets not sent to client", "socket", p.conn, "err", err)
	}
}

// move opens the socket again at the room's real home, with what it sent.
func (p *proxy) move(node string) {
	p.mu.Lock()
	p.hops++
	if p.hops > maxHops || node == "" || p.done {
		p.mu.Unlock()
		p.l.log.Warn("cluster: room home keeps moving, closing socket", "room", p.room, "socket", p.conn)
		p.sock.Close("room home unknown")
		return
	}
	p.home = node
	var open []byte
	var sent [][]byte
	if pd := p.pending; pd != nil {
		open, sent = pd.open, append([][]byte(nil), pd.sent...)
	}
	p.mu.Unlock()
	if node == p.l.self {
		// The room came here meanwhile: serving the socket here would
		// need the join again locally; simplest is the client's
		// reconnect, which then finds the room here.
		p.l.log.Info("cluster: room came here while relayed elsewhere, closing socket to reconnect", "room", p.room, "socket", p.conn)
		p.sock.Close("room moved here")
		return
	}
	_ = p.l.publish(node, p.room, typeOpen, open)
	for _, d := range sent {
		_ = p.l.publish(node, p.room, typeIn, d)
	}
}
