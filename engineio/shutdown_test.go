package engineio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingReceiver counts sessions and their closes without blocking.
type countingReceiver struct{ accepted, closed atomic.Int64 }

func (c *countingReceiver) accept(*Session) Receiver         { c.accepted.Add(1); return c }
func (c *countingReceiver) OnMessage(*Session, []byte, bool) {}
func (c *countingReceiver) OnClose(*Session, string)         { c.closed.Add(1) }
func (c *countingReceiver) waitClosed(t *testing.T, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); c.closed.Load() != c.accepted.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d sessions accepted, %d closed", what, c.accepted.Load(), c.closed.Load())
		}
	}
}

// TestShutdownUnderHandshakes: Shutdown while thousands of polling
// sessions that never send anything are open and new handshakes keep
// coming. It once panicked with "WaitGroup is reused before previous Wait
// has returned": a handshake refused during shutdown, or a session removed
// from the table before its close goroutine was counted, added to the
// WaitGroup while Shutdown waited on it. Every accepted session must get
// its OnClose, and none may be left open.
func TestShutdownUnderHandshakes(t *testing.T) {
	for round := range 5 {
		var rec countingReceiver
		srv := NewServer(Config{Logger: quietLogger(), MaxSessionsPerIP: -1}, rec.accept)
		handshake := func() int {
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/?EIO=4&transport=polling", nil))
			return w.Code
		}
		for range 2000 {
			if code := handshake(); code != http.StatusOK {
				t.Fatalf("handshake before shutdown: %d", code)
			}
		}
		stop := make(chan struct{})
		var clients sync.WaitGroup
		for range 8 {
			clients.Add(1)
			go func() {
				defer clients.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					handshake()
				}
			}()
		}
		time.Sleep(time.Duration(round) * time.Millisecond)
		// Polling sessions that never poll cannot be flushed: Shutdown
		// waits for ctx, then closes them abruptly.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := srv.Shutdown(ctx)
		cancel()
		if err != nil && err != context.DeadlineExceeded {
			t.Fatalf("round %d: %v", round, err)
		}
		// Handshakes after Shutdown returned are refused and leave nothing.
		if code := handshake(); code != http.StatusServiceUnavailable {
			t.Fatalf("handshake after shutdown: %d", code)
		}
		close(stop)
		clients.Wait()
		if n := srv.Len(); n != 0 {
			t.Fatalf("round %d: %d sessions left after shutdown", round, n)
		}
		rec.waitClosed(t, "after shutdown")
	}
}
