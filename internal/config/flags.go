package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// flagSet wraps flag.FlagSet so that every flag also reads an environment
// variable: --turn-secret is HUDDLE_TURN_SECRET. The command line wins over
// the environment, the environment over the default.
type flagSet struct {
	fs      *flag.FlagSet
	envs    map[string]string // flag name -> env var name
	secrets []secretFlag
}

// secretFlag is a flag registered by Secret.
type secretFlag struct {
	p    *string
	name string
}

func newFlagSet(name string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return &flagSet{fs: fs, envs: map[string]string{}}
}

// EnvName returns the environment variable that sets the named flag.
func EnvName(flagName string) string {
	return "HUDDLE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (f *flagSet) track(name string) { f.envs[name] = EnvName(name) }

func (f *flagSet) String(p *string, name, def, usage string) {
	f.fs.StringVar(p, name, def, usage)
	f.track(name)
}

func (f *flagSet) Int(p *int, name string, def int, usage string) {
	f.fs.IntVar(p, name, def, usage)
	f.track(name)
}

func (f *flagSet) Bool(p *bool, name string, def bool, usage string) {
	f.fs.BoolVar(p, name, def, usage)
	f.track(name)
}

func (f *flagSet) Float(p *float64, name string, def float64, usage string) {
	f.fs.Float64Var(p, name, def, usage)
	f.track(name)
}

func (f *flagSet) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	f.fs.DurationVar(p, name, def, usage)
	f.track(name)
}

// Secret registers a string flag whose value should not be on a command
// line, where ps and /proc show it to every user of the machine: besides
// --name (and HUDDLE_NAME) it registers --name-file (and HUDDLE_NAME_FILE),
// a file whose content is the value, without a trailing newline. Giving
// both is an error. The default is empty.
func (f *flagSet) Secret(p *string, name, usage string) {
	f.String(p, name, "", usage+" (prefer --"+name+"-file)")
	var path string
	f.String(&path, name+"-file", "", "file holding --"+name+" (keeps it out of ps)")
	f.secrets = append(f.secrets, secretFlag{p: p, name: name})
}

// ErrSecretTwice is returned when a secret flag and its -file form are both
// given.
var ErrSecretTwice = errors.New("give the value or the file, not both")

// readSecrets fills each secret whose -file form was given from its file.
func (f *flagSet) readSecrets(set map[string]bool) error {
	for _, s := range f.secrets {
		file := s.name + "-file"
		if !set[file] {
			continue
		}
		if set[s.name] {
			return fmt.Errorf("--%s and --%s: %w", s.name, file, ErrSecretTwice)
		}
		path := f.fs.Lookup(file).Value.String()
		b, err := os.ReadFile(path)
		if err != nil {
			// The error names the path, never the content.
			return fmt.Errorf("--%s: %w", file, err)
		}
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if v == "" {
			return fmt.Errorf("--%s %s: %w", file, path, ErrEmptySecret)
		}
		*s.p = v
	}
	return nil
}

// ErrEmptySecret is returned for a secret file with nothing in it: an empty
// secret is never what was meant.
var ErrEmptySecret = errors.New("file is empty")

// List registers a comma-separated list flag.
func (f *flagSet) List(p *[]string, name string, def []string, usage string) {
	*p = def
	f.fs.Func(name, usage+" (comma-separated)", func(s string) error {
		*p = splitList(s)
		return nil
	})
	f.track(name)
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// parse reads args, then fills every flag not given on the command line
// from its environment variable.
func (f *flagSet) parse(args []string, getenv func(string) string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", f.fs.Arg(0))
	}
	set := map[string]bool{} // given on the command line or in the environment
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for name, env := range f.envs {
		if set[name] {
			continue
		}
		if v, ok := lookup(getenv, env); ok {
			if err := f.fs.Set(name, v); err != nil {
				return fmt.Errorf("%s: %w", env, err)
			}
			set[name] = true
		}
	}
	return f.readSecrets(set)
}

func lookup(getenv func(string) string, key string) (string, bool) {
	if getenv == nil {
		return os.LookupEnv(key)
	}
	v := getenv(key)
	return v, v != ""
}

// usage prints every flag with its environment variable and default.
func (f *flagSet) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: huddle [flags]\n       huddle token --help | huddle healthcheck --help | huddle --version\n\nEvery flag can also be set with the environment variable shown.\n\n")
	var names []string
	f.fs.VisitAll(func(fl *flag.Flag) { names = append(names, fl.Name) })
	sort.Strings(names)
	for _, name := range names {
		fl := f.fs.Lookup(name)
		def := fl.DefValue
		if def == "" || def == "[]" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%s  (env %s, default %s)\n      %s\n", name, f.envs[name], def, fl.Usage)
	}
}
