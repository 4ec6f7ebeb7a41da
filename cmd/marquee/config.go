package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"time"

	"github.com/marquee-signage/marquee/alerts"
	"github.com/marquee-signage/marquee/internal/size"
)

// Config is the configuration of `marquee serve`. Every field has a flag and
// a MARQUEE_* environment variable; a flag given on the command line wins
// over the environment, which wins over the default.
type Config struct {
	DataDir         string
	HTTPAddr        string
	DB              string // DSN; "" means SQLite in DataDir
	AutoMigrate     bool
	MaxImageBytes   int64
	MaxVideoBytes   int64
	ShutdownTimeout time.Duration
	LogLevel        string
	LogFormat       string

	// OfflineAlertAfter is how long a display may be silent before an
	// offline alert opens, unless the display overrides it.
	OfflineAlertAfter time.Duration

	// PlaysRetention is how long raw plays are kept (0: for ever); a
	// daily job deletes older ones. Airtime rollups are kept regardless.
	PlaysRetention time.Duration

	// MQTTAddr is the embedded broker's TCP address; "" turns the embedded
	// broker off. MQTTWSAddr adds an MQTT-over-WebSocket listener.
	MQTTAddr   string
	MQTTWSAddr string
	// MQTTTLSAddr adds an MQTT-over-TLS listener (needs TLSCert and TLSKey).
	MQTTTLSAddr string
	// TLSCert and TLSKey (PEM files), when both set, make the HTTP server
	// speak HTTPS and enable the MQTT TLS listener.
	TLSCert, TLSKey string
	// Broker is the URL of an external broker (tcp://mosquitto:1883); when
	// set the embedded broker is not started and the server logs in with
	// BrokerUsername and BrokerPassword.
	Broker         string
	BrokerUsername string
	BrokerPassword string
	// MQTTPrefix is the topic prefix (default marquee/v1).
	MQTTPrefix string
}

// DefaultConfig returns the embedded defaults: everything under
// ./marquee-data, HTTP on :8080.
func DefaultConfig() Config {
	return Config{
		DataDir:         "./marquee-data",
		HTTPAddr:        ":8080",
		AutoMigrate:     true,
		MaxImageBytes:   64 << 20,
		MaxVideoBytes:   512 << 20,
		ShutdownTimeout: 30 * time.Second,
		LogLevel:        "info",
		LogFormat:       "text",
		MQTTAddr:        ":1883",
		BrokerUsername:  "marquee-server",
		MQTTPrefix:      "marquee/v1",

		OfflineAlertAfter: alerts.DefaultThreshold,
	}
}

// DSN returns the database DSN: Config.DB, or SQLite inside DataDir.
func (c Config) DSN() (string, error) {
	if c.DB != "" {
		return c.DB, nil
	}
	abs, err := filepath.Abs(filepath.Join(c.DataDir, "marquee.db"))
	if err != nil {
		return "", fmt.Errorf("data dir: %w", err)
	}
	return "sqlite://" + abs, nil
}

// envFlags is a flag.FlagSet whose flags also read an environment variable.
type envFlags struct {
	fs     *flag.FlagSet
	getenv func(string) string
	envs   map[string]string // flag name → env var
	errs   []error
}

func newEnvFlags(name string, getenv func(string) string, out io.Writer) *envFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return &envFlags{fs: fs, getenv: getenv, envs: map[string]string{}}
}

func (f *envFlags) envDefault(env string) (string, bool) {
	v := f.getenv(env)
	return v, v != ""
}

func (f *envFlags) String(p *string, name, env, usage string) {
	if v, ok := f.envDefault(env); ok {
		*p = v
	}
	f.envs[name] = env
	f.fs.StringVar(p, name, *p, usage+" ($"+env+")")
}

func (f *envFlags) Bool(p *bool, name, env, usage string) {
	if v, ok := f.envDefault(env); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("$%s: %q is not a boolean", env, v))
		}
		*p = b
	}
	f.envs[name] = env
	f.fs.BoolVar(p, name, *p, usage+" ($"+env+")")
}

func (f *envFlags) Bytes(p *int64, name, env, usage string) {
	if v, ok := f.envDefault(env); ok {
		n, err := size.Parse(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("$%s: %w", env, err))
		}
		*p = n
	}
	f.envs[name] = env
	f.fs.Func(name, fmt.Sprintf("%s, e.g. 64MiB (default %s) ($%s)", usage, size.Format(*p), env), func(s string) error {
		n, err := size.Parse(s)
		if err != nil {
			return err
		}
		*p = n
		return nil
	})
}

func (f *envFlags) Duration(p *time.Duration, name, env, usage string) {
	if v, ok := f.envDefault(env); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("$%s: %q is not a duration", env, v))
		}
		*p = d
	}
	f.envs[name] = env
	f.fs.DurationVar(p, name, *p, usage+" ($"+env+")")
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
