package sfu

// Simulcast: a browser sends its camera as up to three layers, named by
// RTP stream id. The web app names them q (a quarter of the size, about
// 180p), h (half, about 360p) and f (full, about 720p); other names rank
// after those, in the order of their names' first letter.

// Qualities of the layers the web app sends.
const (
	qualityLow    = 0 // "q"
	qualityMedium = 1 // "h"
	qualityHigh   = 2 // "f"
	maxQuality    = 1 << 30
)

// ridQuality ranks a layer by its RTP stream id; a track without
// simulcast has one layer, of quality 0.
func ridQuality(rid string) int {
	switch rid {
	case "", "q":
		return qualityLow
	case "h":
		return qualityMedium
	case "f":
		return qualityHigh
	}
	return qualityHigh + 1 + int(rid[0])
}

// qualityForHeight is the layer a tile of this height (in CSS pixels)
// needs: the smallest whose picture is at least about that tall.
func qualityForHeight(height int) int {
	switch {
	case height <= 200:
		return qualityLow
	case height <= 400:
		return qualityMedium
	}
	return qualityHigh
}

// pickQuality chooses among the qualities a track has (lowest first) the
// best one not above want, or the lowest when all are above it.
func pickQuality(have []int, want int) int {
	if len(have) == 0 {
		return want
	}
	best := have[0]
	for _, q := range have {
		if q <= want {
			best = q
		}
	}
	return best
}

// isVP8Keyframe reports whether an RTP payload is the first packet of a
// VP8 keyframe (RFC 7741): the start of partition 0, whose first byte has
// the inverse key frame flag (P) clear. A subscriber switches layers only
// there, where its decoder can start afresh.
func isVP8Keyframe(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	b := payload[0]
	start, pid := b&0x10 != 0, b&0x07
	if !start || pid != 0 {
		return false
	}
	i := 1
	if b&0x80 != 0 { // X: extension byte
		if len(payload) < 2 {
			return false
		}
		x := payload[1]
		i = 2
		if x&0x80 != 0 { // I: picture id, one or two bytes
			if len(payload) <= i {
				return false
			}
			if payload[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID/KEYIDX
			i++
		}
	}
	return len(payload) > i && payload[i]&0x01 == 0
}
