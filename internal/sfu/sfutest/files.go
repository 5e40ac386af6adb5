package sfutest

import (
	"errors"
	"io"
	"os"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// PublishFiles publishes real media, as Publish does fake media: a VP8
// camera ("cam") read from an IVF file and an Opus microphone ("mic")
// read from an Ogg file made with one packet per page (ffmpeg's
// -page_duration 20000), each sent at its own pace and looped, until
// Close. Either path may be empty.
func (c *Client) PublishFiles(ivfPath, oggPath string) {
	c.t.Helper()
	var video, audio *webrtc.TrackLocalStaticSample
	var err error
	if ivfPath != "" {
		if video, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", c.Name); err != nil {
			c.t.Fatal(err)
		}
	}
	if oggPath != "" {
		if audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", c.Name); err != nil {
			c.t.Fatal(err)
		}
	}
	for _, tr := range []*webrtc.TrackLocalStaticSample{video, audio} {
		if tr == nil {
			continue
		}
		sender, err := c.Pub.AddTrack(tr)
		if err != nil {
			c.t.Fatal(err)
		}
		go c.countPLIs(sender)
	}
	c.negotiatePublish()
	if video != nil {
		go c.loop(func(next *time.Time) error { return c.sendIVF(ivfPath, video, next) })
	}
	if audio != nil {
		go c.loop(func(next *time.Time) error { return c.sendOgg(oggPath, audio, next) })
	}
}

// ShareScreen publishes a VP8 screen ("screen") read from an IVF file,
// looped, beside what the client publishes already, and names its
// section to the server (sfu.Peer.SetScreen) as a browser does with
// sfu-publish's screen mid.
func (c *Client) ShareScreen(ivfPath string) {
	c.t.Helper()
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "screen", c.Name)
	if err != nil {
		c.t.Fatal(err)
	}
	sender, err := c.Pub.AddTrack(track)
	if err != nil {
		c.t.Fatal(err)
	}
	go c.countPLIs(sender)
	c.screen = sender
	c.negotiatePublish()
	go c.loop(func(next *time.Time) error { return c.sendIVF(ivfPath, track, next) })
}

// nameScreen tells the server which section carries the screen, when
// the server side takes it.
func (c *Client) nameScreen() {
	s, ok := c.server.(interface{ SetScreen(mid string) })
	if c.screen == nil || !ok {
		return
	}
	for _, tr := range c.Pub.GetTransceivers() {
		if tr.Sender() == c.screen {
			s.SetScreen(tr.Mid())
		}
	}
}

// loop sends a file again and again until Close or an error. The time
// the next frame is due carries over from one pass to the next: a pass
// that started its own clock sent its first frame at once, with the
// last frame of the pass before, so a looped file ran a frame fast per
// pass, and a looped camera drifted from its looped microphone.
func (c *Client) loop(send func(next *time.Time) error) {
	next := time.Now()
	for !c.stopped() {
		if err := send(&next); err != nil {
			if !errors.Is(err, errStopped) {
				c.errorf("%s: send file: %v", c.Name, err)
			}
			return
		}
	}
}

var errStopped = errors.New("stopped")

// pace sleeps until the next frame is due; errStopped after Close.
func (c *Client) pace(next time.Time) error {
	select {
	case <-c.stop:
		return errStopped
	case <-time.After(time.Until(next)):
		return nil
	}
}

func (c *Client) sendIVF(path string, track *webrtc.TrackLocalStaticSample, next *time.Time) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, h, err := ivfreader.NewWith(f)
	if err != nil {
		return err
	}
	frameDur := time.Second * time.Duration(h.TimebaseNumerator) / time.Duration(h.TimebaseDenominator)
	for {
		frame, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := c.pace(*next); err != nil {
			return err
		}
		*next = next.Add(frameDur)
		_ = track.WriteSample(media.Sample{Data: frame, Duration: frameDur})
	}
}

func (c *Client) sendOgg(path string, track *webrtc.TrackLocalStaticSample, next *time.Time) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		return err
	}
	var lastGranule uint64
	for {
		page, header, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		samples := header.GranulePosition - lastGranule
		lastGranule = header.GranulePosition
		if samples == 0 || samples > 48000 {
			continue // the header pages
		}
		dur := time.Duration(samples) * time.Second / 48000
		if err := c.pace(*next); err != nil {
			return err
		}
		*next = next.Add(dur)
		_ = track.WriteSample(media.Sample{Data: page, Duration: dur})
	}
}
