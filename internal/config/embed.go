package config

import (
	"regexp"
	"strings"
)

// EmbedConfig is which other sites may show Huddle in an iframe through
// /external_api.js. Its zero value lets no site frame the app.
type EmbedConfig struct {
	// Origins may frame the app (Content-Security-Policy frame-ancestors)
	// and drive an embedded meeting over postMessage, each in the form
	// browsers send (scheme://host[:port], lower case). None: the app
	// refuses to be framed (frame-ancestors 'none', X-Frame-Options DENY).
	Origins []string
}

// Enabled reports whether any site may frame the app.
func (e EmbedConfig) Enabled() bool { return len(e.Origins) > 0 }

func registerEmbed(fs *flagSet, c *EmbedConfig) {
	fs.List(&c.Origins, "embed-origins", nil, "origins of sites that may embed meetings in an iframe (external_api.js), e.g. https://portal.example.com; none: the app refuses to be framed")
}

// cspHost is a host[:port] that can be written into a CSP source list as
// it is: a name or an IP literal, no wildcards, quotes, spaces or ';'.
var cspHost = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$`)

// settle checks every origin and rewrites it in the form browsers send, so
// that the header and the page's own check compare like with like.
func (e *EmbedConfig) settle() error {
	for i, o := range e.Origins {
		if o == "*" || strings.Contains(o, "*") {
			// Any site could put the meeting under its own buttons.
			return invalid("--embed-origins: name each site; wildcards are not allowed")
		}
		norm, err := ParseOrigin(o)
		if err != nil {
			return invalid("--embed-origins: %v", err)
		}
		if host := norm[strings.Index(norm, "://")+3:]; !cspHost.MatchString(host) {
			return invalid("--embed-origins: %q: not a plain host name or IP address", o)
		}
		// Browsers leave the scheme's own port out of an origin.
		if def := map[string]string{"http": ":80", "https": ":443"}[norm[:strings.Index(norm, "://")]]; strings.HasSuffix(norm, def) {
			norm = strings.TrimSuffix(norm, def)
		}
		e.Origins[i] = norm
	}
	return nil
}
