package sfu

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// The interceptors above the parser find its header, the packet's, and
// reading allocates nothing.
func TestHeaderParserSharesOneHeader(t *testing.T) {
	if headerKey == nil {
		t.Fatal("the interceptor package's header key was not found")
	}
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 7, Timestamp: 9, SSRC: 42}, Payload: make([]byte, 100)}
	_ = pkt.SetExtension(3, []byte{1, 2})
	raw, _ := pkt.Marshal()
	src := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, raw), a, nil
	})
	r := (&headerParser{}).BindRemoteStream(&interceptor.StreamInfo{}, src)
	buf := make([]byte, 1500)
	var got *rtp.Header
	read := func() {
		n, attrs, err := r.Read(buf, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err = attrs.GetRTPHeader(buf[:n]); err != nil {
			t.Fatal(err)
		}
	}
	read()
	if got.SequenceNumber != 7 || got.SSRC != 42 || len(got.GetExtension(3)) != 2 {
		t.Fatalf("header %+v, want the packet's", got)
	}
	pkt.SequenceNumber = 8
	raw, _ = pkt.Marshal()
	read()
	if got.SequenceNumber != 8 {
		t.Fatalf("the second read's header has sequence number %d, want 8 (a stale header)", got.SequenceNumber)
	}
	if n := testing.AllocsPerRun(100, read); n != 0 {
		t.Errorf("%.1f allocations per packet read", n)
	}
}
