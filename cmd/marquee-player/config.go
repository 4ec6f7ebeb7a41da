package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/marquee-signage/marquee/internal/size"
)

// version is set at link time: -ldflags "-X main.version=v1.2.3".
var version = ""

// Version returns the link-time version, else the module version, else "dev".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Config is the configuration of marquee-player. Every field has a flag and
// a MARQUEE_* environment variable; a flag given on the command line wins
// over the environment, which wins over the default.
type Config struct {
	Server    string // base URL of the Marquee server
	Broker    string // MQTT broker URL; "" → HTTP polling only
	DisplayID string
	Token     string // prefer MARQUEE_DISPLAY_TOKEN or TokenFile: flags show in ps
	TokenFile string

	CacheDir   string
	CacheLimit int64
	Output     string

	PollInterval      time.Duration
	HeartbeatInterval time.Duration
	ShutdownTimeout   time.Duration
	LogLevel          string
	LogFormat         string
}

// DefaultConfig returns the defaults: data under ./marquee-player-data, a
// 2 GiB cache, headless output.
func DefaultConfig() Config {
	return Config{
		CacheDir:        "./marquee-player-data",
		CacheLimit:      2 << 30,
		Output:          "headless",
		ShutdownTimeout: 10 * time.Second,
		LogLevel:        "info",
		LogFormat:       "text",
	}
}

// envFlags is a flag.FlagSet whose flags also read an environment variable.
type envFlags struct {
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
}

func newEnvFlags(name string, getenv func(string) string, out io.Writer) *envFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return &envFlags{fs: fs, getenv: getenv}
}

func (f *envFlags) String(p *string, name, env, usage string) {
	if v := f.getenv(env); v != "" {
		*p = v
	}
	f.fs.StringVar(p, name, *p, usage+" ($"+env+")")
}

func (f *envFlags) Duration(p *time.Duration, name, env, usage string) {
	if v := f.getenv(env); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("$%s: %q is not a duration", env, v))
		}
		*p = d
	}
	f.fs.DurationVar(p, name, *p, usage+" ($"+env+")")
}

func (f *envFlags) Bytes(p *int64, name, env, usage string) {
	if v := f.getenv(env); v != "" {
		n, err := size.Parse(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("$%s: %w", env, err))
		}
		*p = n
	}
	f.fs.Func(name, fmt.Sprintf("%s, e.g. 2GiB (default %s) ($%s)", usage, size.Format(*p), env), func(s string) error {
		n, err := size.Parse(s)
		if err != nil {
			return err
		}
		*p = n
		return nil
	})
}

// Parse parses args; it reports the first bad environment variable too.
func (f *envFlags) Parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if len(f.errs) > 0 {
		return f.errs[0]
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", f.fs.Arg(0))
	}
	return nil
}
