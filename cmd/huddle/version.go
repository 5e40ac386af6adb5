package main

import "runtime/debug"

// version is set at link time by `make release`:
// -ldflags "-X main.version=$(git describe --tags --always --dirty)".
var version string

// versionString is the version to print: the linked one, else what the Go
// toolchain recorded (a module version for `go install`, or the VCS
// revision of a plain `go build`), else "dev".
func versionString() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return "dev"
	}
	return "dev-" + rev + dirty
}

func isVersionFlag(a string) bool {
	return a == "--version" || a == "-version" || a == "version"
}
