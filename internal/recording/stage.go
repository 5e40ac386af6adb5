package recording

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// The stage layout, used when a screen was shared: while a screen is
// shared it fills a stage of stageW x stageH and the cameras stand in a
// strip of small tiles beside it, stripRows to a column, as the meeting
// showed them; at other times the cameras fill the whole picture as a
// grid. The newest share is drawn last, so it is the one on the stage.
const (
	stageW, stageH = 1280, 720
	stripW, stripH = 320, 180
	stripRows      = stageH / stripH
)

// span is a stretch of the composition, in ms from its start.
type span struct{ from, to int64 }

// screenSpans are when a screen track is shown: between its presenter's
// screen-on and screen-off layout events, within the track's own time. A
// track whose presenter has no such event was shared all its time (it
// began before the recording's first event could say so).
func screenSpans(man Manifest, t Track) []span {
	start, end := t.OffsetMs, t.OffsetMs+t.End.Sub(t.Start).Milliseconds()
	var out []span
	on, from, seen := false, start, false
	for _, e := range man.Layout {
		if e.Participant != t.Participant || (e.Kind != LayoutScreenOn && e.Kind != LayoutScreenOff) {
			continue
		}
		if !seen && e.Kind == LayoutScreenOff {
			on = true // shared before the first event
		}
		seen = true
		switch {
		case e.Kind == LayoutScreenOn && !on:
			on, from = true, e.OffsetMs
		case e.Kind == LayoutScreenOff && on:
			out = append(out, span{from, e.OffsetMs})
			on = false
		}
	}
	if on || !seen {
		out = append(out, span{from, end})
	}
	var clipped []span
	for _, s := range out {
		s.from, s.to = max(s.from, start), min(s.to, end)
		if s.to > s.from {
			clipped = append(clipped, s)
		}
	}
	return clipped
}

// during is ffmpeg's timeline expression that is true within any span.
func during(spans []span) string {
	if len(spans) == 0 {
		return "0"
	}
	var terms []string
	for _, s := range spans {
		terms = append(terms, fmt.Sprintf("between(t,%.3f,%.3f)", float64(s.from)/1000, float64(s.to)/1000))
	}
	return strings.Join(terms, "+")
}

// stageGraph is the filter graph of the stage layout: cameras (inputs
// 0..len(cameras)-1) and screens (the inputs after them) over a black
// picture, out as [vout].
func stageGraph(man Manifest, cameras, screens []Track, total int64, label func(Track, int) string) []string {
	stripCols := max(1, int(math.Ceil(float64(len(cameras))/stripRows)))
	w, h := stageW+stripCols*stripW, stageH
	cols := max(1, int(math.Ceil(math.Sqrt(float64(len(cameras))))))
	rows := max(1, int(math.Ceil(float64(len(cameras))/float64(cols))))
	gw, gh := even(w/cols), even(h/rows)
	sec := func(ms int64) string { return fmt.Sprintf("%.3f", float64(ms)/1000) }
	graph := []string{fmt.Sprintf("color=c=black:s=%dx%d:r=15:d=%s[bg0]", w, h, sec(total))}
	type shown struct {
		in    int
		spans []span
	}
	var shares []shown
	var any []span
	for j, t := range screens {
		s := screenSpans(man, t)
		shares = append(shares, shown{len(cameras) + j, s})
		any = append(any, s...)
	}
	sharing := during(any)
	bg := 0
	over := func(in string, x, y int, when string) {
		graph = append(graph, fmt.Sprintf("[bg%d][%s]overlay=x=%d:y=%d:enable='%s'[bg%d]", bg, in, x, y, when, bg+1))
		bg++
	}
	for i, t := range cameras {
		graph = append(graph, fmt.Sprintf("%s,split=2[g%d][s%d]", fitted(i, t, gw, gh, total), i, i))
		graph = append(graph, fmt.Sprintf("[g%d]%s[gl%d]", i, label(t, 24), i))
		graph = append(graph, fmt.Sprintf("[s%d]scale=%d:%d,setsar=1,%s[sl%d]", i, stripW, stripH, label(t, 14), i))
		over(fmt.Sprintf("gl%d", i), i%cols*gw, i/cols*gh, "not("+sharing+")")
		over(fmt.Sprintf("sl%d", i), stageW+i/stripRows*stripW, i%stripRows*stripH, sharing)
	}
	// The newest share last: it is drawn over the older ones.
	sort.SliceStable(shares, func(a, b int) bool { return first(shares[a].spans) < first(shares[b].spans) })
	for _, s := range shares {
		t := screens[s.in-len(cameras)]
		graph = append(graph, fmt.Sprintf("%s,%s[sc%d]", fitted(s.in, t, stageW, stageH, total), label(t, 24), s.in))
		over(fmt.Sprintf("sc%d", s.in), 0, 0, during(s.spans))
	}
	graph = append(graph, fmt.Sprintf("[bg%d]null[vout]", bg))
	return graph
}

// fitted is input in's video fitted into w x h, from the recording's time
// 0 (black before the track came) to total (its last frame held).
func fitted(in int, t Track, w, h int, total int64) string {
	return fmt.Sprintf("[%d:v]setpts=PTS-STARTPTS,%sscale=%d:%d:force_original_aspect_ratio=decrease,"+
		"pad=%d:%d:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=15,format=yuv420p,"+
		"tpad=start_duration=%.3f:color=black:stop_mode=clone:stop_duration=%.3f",
		in, cutBefore("", t.OffsetMs), w, h, w, h, float64(max(t.OffsetMs, 0))/1000, float64(total)/1000)
}

func first(spans []span) int64 {
	if len(spans) == 0 {
		return math.MaxInt64
	}
	return spans[0].from
}

func even(n int) int { return n &^ 1 }
