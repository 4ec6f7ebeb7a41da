package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
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
		n, err := parseBytes(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("$%s: %w", env, err))
		}
		*p = n
	}
	f.fs.Func(name, fmt.Sprintf("%s, e.g. 2GiB (default %s) ($%s)", usage, formatBytes(*p), env), func(s string) error {
		n, err := parseBytes(s)
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

var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1000, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1000 * 1000, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1000 * 1000 * 1000, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1000 * 1000 * 1000 * 1000, "tib": 1 << 40,
}

// parseBytes parses sizes such as "512", "64MiB", "1.5GB".
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	mul, ok := byteUnits[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("%q is not a size (use e.g. 512MiB, 2GiB)", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a positive size", s)
	}
	return int64(v * float64(mul)), nil
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return strconv.FormatInt(n, 10)
}
