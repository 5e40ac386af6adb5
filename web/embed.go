// Package web holds the built front end (web/dist, made by `make web`),
// embedded into the binary.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built front end. Before the first `make web` it holds
// only a placeholder.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // cannot happen: "dist" is a literal embedded directory
	}
	return sub
}
