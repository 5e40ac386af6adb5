// Package web serves the embedded front end: static assets, the single-page
// app for every meeting path, and the Socket.IO client bundle.
package web

import (
	"bytes"
	"html"
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
	// EmbedOrigins are the sites that may frame the app (config
	// EmbedConfig.Origins). The page is told them in a meta tag, so that
	// its embed bridge talks only to a parent on one of them.
	EmbedOrigins []string
}

// externalAPI is the script other sites load to embed meetings (built
// from web/public/external_api.js).
const externalAPI = "external_api.js"

// embedMetaName names the meta tag that carries the embed origins,
// space-separated (web/src/embed.ts reads it).
const embedMetaName = "huddle-embed-origins"

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
				if p == externalAPI {
					// Other sites load it by this fixed name: after an
					// upgrade they must get the new one.
					w.Header().Set("Cache-Control", "no-cache")
				}
				static.ServeHTTP(w, r)
				return
			}
		}
		serveIndex(w, r, files, o.EmbedOrigins)
	})
}

// serveIndex answers every app route (/, /abc-defg-hij, /check) with the
// single-page app.
func serveIndex(w http.ResponseWriter, r *http.Request, files fs.FS, embedOrigins []string) {
	b, err := fs.ReadFile(files, "index.html")
	if err != nil {
		http.Error(w, "front end not built: run make build", http.StatusServiceUnavailable)
		return
	}
	b = withEmbedOrigins(b, embedOrigins)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

// withEmbedOrigins puts the embed origins into the page's head. Without
// any the page is left as built: the bridge then never talks to a parent.
func withEmbedOrigins(page []byte, origins []string) []byte {
	if len(origins) == 0 {
		return page
	}
	tag := `<meta name="` + embedMetaName + `" content="` + html.EscapeString(strings.Join(origins, " ")) + `" />`
	i := bytes.Index(page, []byte("</head>"))
	if i < 0 {
		return page // not the page we build; the bridge stays off
	}
	out := make([]byte, 0, len(page)+len(tag)+1)
	out = append(out, page[:i]...)
	out = append(out, tag...)
	out = append(out, '\n')
	return append(out, page[i:]...)
}
