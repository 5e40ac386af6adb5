package abuse

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sioclient"
)

// meeting is two participants, one over WebSocket and one over polling,
// who keep exchanging ice-candidate and chat events while the storm goes
// on. Every event must arrive, in order.
type meeting struct {
	peers [2]*participant
	http  *http.Client // carries the polling participant, closed at the end
	stop  chan struct{}
	done  chan struct{}
	sent  int // rounds sent by each participant, valid after done
	err   error
}

type participant struct {
	name   string
	client *sioclient.Client
	id     string

	mu         sync.Mutex
	candidates []int            // seq of each ice-candidate received
	chats      map[string][]int // sender name -> seq of each chat received
	problems   []string         // signaling errors, disconnects
	signal     chan struct{}    // poked on every event
}

// tick is the pace of each participant: two events per tick stays well
// under the default 50 events per second per socket.
const tick = 60 * time.Millisecond

func startMeeting(t *testing.T, h *huddle) *meeting {
	t.Helper()
	m := &meeting{
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}},
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	const room = "bystanders"
	for i, opts := range []sioclient.Options{
		{Transport: sioclient.WebSocket},
		{Transport: sioclient.Polling, HTTPClient: m.http},
	} {
		p := &participant{name: "AB"[i : i+1], chats: map[string][]int{}, signal: make(chan struct{}, 1)}
		opts.OnDisconnect = func(_ *sioclient.Client, err error) {
			if err != nil {
				p.problem("disconnected: " + err.Error())
			}
		}
		c, err := sioclient.Dial(ctx, h.url, opts)
		if err != nil {
			t.Fatalf("participant %s: %v", p.name, err)
		}
		p.client = c
		c.On("ice-candidate", p.onCandidate)
		c.On("chat-message", p.onChat)
		c.On("signaling-error", func(args []json.RawMessage) { p.problem("signaling-error " + string(args[0])) })
		ack, err := c.EmitWithAck(ctx, "join-room", map[string]string{"room": room, "name": p.name})
		if err != nil {
			t.Fatalf("participant %s join: %v", p.name, err)
		}
		var a struct {
			OK bool   `json:"ok"`
			ID string `json:"id"`
		}
		if len(ack) == 0 || json.Unmarshal(ack[0], &a) != nil || !a.OK {
			t.Fatalf("participant %s join ack: %s", p.name, ack)
		}
		p.id = a.ID
		m.peers[i] = p
	}
	go m.talk()
	return m
}

// talk sends one ice-candidate to the other and one chat message per tick,
// each numbered, until stop.
func (m *meeting) talk() {
	defer close(m.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	for seq := 0; ; seq++ {
		select {
		case <-m.stop:
			m.sent = seq
			return
		case <-t.C:
		}
		for i, p := range m.peers {
			to := m.peers[1-i].id
			if err := p.client.Emit("ice-candidate", map[string]any{"to": to, "candidate": map[string]int{"seq": seq}}); err != nil {
				m.sent, m.err = seq, fmt.Errorf("%s emit: %w", p.name, err)
				return
			}
			if err := p.client.Emit("chat-message", map[string]string{"text": p.name + " " + strconv.Itoa(seq)}); err != nil {
				m.sent, m.err = seq, fmt.Errorf("%s emit: %w", p.name, err)
				return
			}
		}
	}
}

func (p *participant) onCandidate(args []json.RawMessage) {
	var ev struct {
		From      string `json:"from"`
		Candidate struct {
			Seq int `json:"seq"`
		} `json:"candidate"`
	}
	if len(args) == 0 || json.Unmarshal(args[0], &ev) != nil {
		p.problem("malformed ice-candidate")
		return
	}
	p.mu.Lock()
	p.candidates = append(p.candidates, ev.Candidate.Seq)
	p.mu.Unlock()
	p.poke()
}

func (p *participant) onChat(args []json.RawMessage) {
	var ev struct {
		Text string `json:"text"`
	}
	if len(args) == 0 || json.Unmarshal(args[0], &ev) != nil {
		p.problem("malformed chat-message")
		return
	}
	sender, n, ok := strings.Cut(ev.Text, " ")
	seq, err := strconv.Atoi(n)
	if !ok || err != nil {
		p.problem("unexpected chat text " + ev.Text)
		return
	}
	p.mu.Lock()
	p.chats[sender] = append(p.chats[sender], seq)
	p.mu.Unlock()
	p.poke()
}

func (p *participant) poke() {
	select {
	case p.signal <- struct{}{}:
	default:
	}
}

func (p *participant) problem(s string) {
	p.mu.Lock()
	p.problems = append(p.problems, s)
	p.mu.Unlock()
	p.poke()
}

// complete reports whether p has received everything of n rounds.
func (p *participant) complete(n int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.candidates) >= n && len(p.chats["A"]) >= n && len(p.chats["B"]) >= n
}

// finish stops talking, waits for every event sent to arrive and checks
// that none was lost, duplicated or reordered.
func (m *meeting) finish(t *testing.T) {
	t.Helper()
	close(m.stop)
	<-m.done
	if m.err != nil {
		t.Errorf("meeting: %v", m.err)
	}
	n := m.sent
	deadline := time.After(20 * time.Second)
	for _, p := range m.peers {
	wait:
		for !p.complete(n) {
			select {
			case <-p.signal:
			case <-deadline:
				break wait
			}
		}
	}
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	for _, p := range m.peers {
		p.mu.Lock()
		if !slices.Equal(p.candidates, want) {
			t.Errorf("%s received ice-candidates %s, want 0..%d in order", p.name, summary(p.candidates), n-1)
		}
		for _, from := range []string{"A", "B"} {
			if !slices.Equal(p.chats[from], want) {
				t.Errorf("%s received chat from %s %s, want 0..%d in order", p.name, from, summary(p.chats[from]), n-1)
			}
		}
		if len(p.problems) > 0 {
			t.Errorf("%s: %q", p.name, p.problems)
		}
		p.mu.Unlock()
		p.client.Close()
	}
	m.http.CloseIdleConnections()
	t.Logf("meeting: %d rounds of ice-candidate + chat each way, all delivered in order", n)
}

// summary shows a received sequence briefly: its length and first gap.
func summary(seqs []int) string {
	for i, s := range seqs {
		if s != i {
			return fmt.Sprintf("(%d events; at index %d got %d)", len(seqs), i, s)
		}
	}
	return fmt.Sprintf("(%d events, in order)", len(seqs))
}
