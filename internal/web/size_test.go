package web

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"regexp"
	"testing"

	webdist "github.com/huddlehq/huddle/web"
)

// maxFirstLoadJS is the budget for the JavaScript a visitor
// downloads before the app runs, gzipped: the app, the Socket.IO client
// and the largest language catalogue.
const maxFirstLoadJS = 120 << 10

// The built front end stays small: what the home page loads fits the
// budget. Skipped when the front end is not built (go test without make).
func TestFirstLoadJavaScriptFitsTheBudget(t *testing.T) {
	files := webdist.Dist()
	index, err := fs.ReadFile(files, "index.html")
	if err != nil || bytes.Contains(index, []byte("not built")) {
		t.Skip("the front end is not built (make build)")
	}
	total, catalogue := 0, 0
	scripts := regexp.MustCompile(`src="/?([^"]+\.js)"`).FindAllSubmatch(index, -1)
	if len(scripts) == 0 {
		t.Fatalf("index.html loads no script: %s", index)
	}
	for _, m := range scripts {
		total += gzipped(t, files, string(m[1]))
	}
	total += gzipped(t, files, "vendor/socket.io.js")
	langs, _ := fs.Glob(files, "assets/[a-z][a-z]-*.js")
	for _, l := range langs {
		catalogue = max(catalogue, gzipped(t, files, l))
	}
	total += catalogue
	t.Logf("first load: %.1f KiB of gzipped JavaScript (budget %d KiB)", float64(total)/1024, maxFirstLoadJS>>10)
	if total > maxFirstLoadJS {
		t.Errorf("the first load is %d bytes of gzipped JavaScript, over the %d-byte budget", total, maxFirstLoadJS)
	}
}

func gzipped(t *testing.T, files fs.FS, name string) int {
	t.Helper()
	b, err := fs.ReadFile(files, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out bytes.Buffer
	w, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Len()
}
