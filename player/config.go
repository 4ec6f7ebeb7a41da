package player

import (
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Config configures an Agent. ServerURL, DisplayID, Token, CacheDir and
// Output must be set; zero values of the rest mean the defaults shown.
type Config struct {
	ServerURL string // base URL of the Marquee server, e.g. https://signage.example.com
	BrokerURL string // e.g. tcp://host:1883, ssl://host:8883; "" → HTTP polling only (plays stay in the journal)
	DisplayID string // also the MQTT username and client ID
	Token     string // the display's token: HTTP Bearer and MQTT password

	CacheDir   string // holds state.json, files/, partial/ and journal/
	CacheLimit int64  // bytes of media to keep beyond the manifest's own files; 0 → 2 GiB

	Output Output // the screen; the Agent closes it in Close

	PollInterval      time.Duration // HTTP state poll; 0 → 60s, jittered ±20% per poll
	HeartbeatInterval time.Duration // retained status; 0 → 30s
	BatchMax          int           // plays per batch; 0 → 500
	BatchInterval     time.Duration // longest a play waits to be sent; 0 → 5s
	AckTimeout        time.Duration // resend from the lowest unacknowledged play after; 0 → 30s

	Version string           // reported in the status
	Now     func() time.Time // nil → time.Now
	Logger  *slog.Logger     // nil → discard
}

// Defaults.
const (
	DefaultPollInterval      = 60 * time.Second
	DefaultHeartbeatInterval = 30 * time.Second
	DefaultBatchMax          = 500
	DefaultBatchInterval     = 5 * time.Second
	DefaultAckTimeout        = 30 * time.Second

	// MaxStateBytes is the largest desired state the player accepts, over
	// MQTT or HTTP; a larger one is dropped and counted.
	MaxStateBytes = 1 << 20
)

// withDefaults checks c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.ServerURL == "" {
		errs = append(errs, errors.New("server URL is required"))
	} else if u, err := url.Parse(c.ServerURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("server URL must be http:// or https:// with a host"))
	}
	c.ServerURL = strings.TrimSuffix(c.ServerURL, "/")
	if c.DisplayID == "" {
		errs = append(errs, errors.New("display ID is required"))
	} else if strings.ContainsAny(c.DisplayID, "/+#") {
		errs = append(errs, errors.New("display ID must not contain / + or #"))
	}
	if c.Token == "" {
		errs = append(errs, errors.New("display token is required"))
	}
	if c.CacheDir == "" {
		errs = append(errs, errors.New("cache dir is required"))
	}
	if c.Output == nil {
		errs = append(errs, errors.New("output is required"))
	}
	if c.CacheLimit < 0 {
		errs = append(errs, errors.New("cache limit must not be negative"))
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.BatchMax <= 0 {
		c.BatchMax = DefaultBatchMax
	}
	if c.BatchInterval <= 0 {
		c.BatchInterval = DefaultBatchInterval
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, errors.Join(errs...)
}
