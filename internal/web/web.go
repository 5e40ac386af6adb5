// Package web serves the embedded front end: static assets, the single-page
// app for every meeting path, and the Socket.IO client bundle.
package web

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	webdist "github.com/huddlehq/huddle/web"
)

// Options of the web handler. The zero value serves the embedded build.
type Options struct {
	// Files overrides the embedded build (tests).
	Files fs.FS
}

// Handler serves the front end.
func Handler(o Options) http.Handler {
	files := o.Files
	if files == nil {
		files = webdist.Dist()
	}
	static := http.FileServer(http.FS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p == "socket.io/socket.io.js" {
			p = "vendor/socket.io.js"
			r.URL.Path = "/" + p
		}
		if p != "" && p != "." {
			if st, err := fs.Stat(files, p); err == nil && !st.IsDir() {
				if strings.HasPrefix(p, "assets/") {
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				static.ServeHTTP(w, r)
				return
			}
		}
		serveIndex(w, r, files)
	})
}

// serveIndex answers every app route (/, /abc-defg-hij, /check) with the
// single-page app.
func serveIndex(w http.ResponseWriter, r *http.Request, files fs.FS) {
	b, err := fs.ReadFile(files, "index.html")
	if err != nil {
		http.Error(w, "front end not built: run make build", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}
