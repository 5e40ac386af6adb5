package sfu

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// headerParser is the innermost interceptor of a publishing connection:
// it parses each packet's RTP header once, into a header reused for the
// stream, and hands it to the interceptors above in the attributes they
// read it from (Attributes.GetRTPHeader). pion's reader passes no
// attributes, so each of the NACK generator, the receiver reports and
// the TWCC feedback made a map and parsed the header into a new one:
// about three allocations per packet received from a publisher, the
// most left in the meetings benchmark. None of them keeps the header
// past the read (the TWCC generator sends the pointer to its loop but
// never reads it there), and a stream is read by one goroutine.
type headerParser struct{ interceptor.NoOp }

type headerParserFactory struct{}

func (headerParserFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &headerParser{}, nil
}

// headerKey is the key GetRTPHeader keeps a parsed header under, which
// the interceptor package does not export: found once by asking it to
// parse a header into an empty map.
var headerKey = func() any {
	a := interceptor.Attributes{}
	_, _ = a.GetRTPHeader([]byte{0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1})
	for k := range a {
		return k
	}
	return nil
}()

func (*headerParser) BindRemoteStream(_ *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if headerKey == nil {
		return r
	}
	return &parsedStream{r: r, attrs: interceptor.Attributes{}}
}

type parsedStream struct {
	r     interceptor.RTPReader
	attrs interceptor.Attributes
	h     rtp.Header
}

func (s *parsedStream) Read(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
	n, attrs, err := s.r.Read(b, a)
	if err != nil {
		return n, attrs, err
	}
	if attrs == nil {
		attrs = s.attrs
	}
	if _, err := s.h.Unmarshal(b[:n]); err != nil {
		// Left to the interceptors above, which drop it as before.
		delete(attrs, headerKey)
		return n, attrs, nil
	}
	attrs[headerKey] = &s.h
	return n, attrs, nil
}
