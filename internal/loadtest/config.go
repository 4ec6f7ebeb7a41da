package loadtest

import (
	"context"
	"errors"
	"time"
)

// Defaults of Config.
const (
	DefaultItem             = time.Second
	DefaultDuration         = 60 * time.Second
	DefaultRamp             = 200 // players (and baseline subscribers) started per second
	DefaultSetupConcurrency = 16
	DefaultFanOutTimeout    = 2 * time.Minute

	// oldItemExtra tells the initial playlist's item from the new one's on
	// screen: same banner, this much longer than Item.
	oldItemExtra = 250 * time.Millisecond
	// playerPollInterval is long so that the new state must come over MQTT.
	playerPollInterval = time.Hour
)

// Config configures a fleet run. Displays and Server.URL, BrokerURL,
// Username and Password are required; zero values of the rest mean the
// defaults above.
type Config struct {
	Displays int
	// Item is the length of the one item of the playlist the schedule
	// changes to, which plays during the ingest window: short, so that
	// plays flow (at least 1 s, the API's minimum). The initial playlist's
	// item is 250 ms longer, so the screen shows when the change arrived.
	Item time.Duration
	// Duration is the ingest window.
	Duration time.Duration
	// Baseline runs the raw paho fan-out to bare subscribers too.
	Baseline bool
	// Ramp is how many players, and baseline subscribers, start per
	// second, across all processes.
	Ramp             float64
	SetupConcurrency int           // admin API requests at once during setup and cleanup
	FanOutTimeout    time.Duration // how long a fan-out may take before the stragglers count as missing
	// BatchInterval overrides the players' play batch interval (0: the
	// player's default, 5 s). Tests shorten it.
	BatchInterval time.Duration

	// AgentProcs is how many worker processes host the players (their
	// share each); 0 hosts them in this process. StartWorker starts one
	// (`marquee bench agents`) and is required when AgentProcs > 0.
	AgentProcs  int
	StartWorker func(ctx context.Context) (*Worker, error)

	// WorkDir holds the players' caches and journals; "" makes a temporary
	// directory, removed at the end.
	WorkDir string
	Server  Server
	// Cleanup deletes what the run created on the server (for an external
	// server; an in-process one lives in a temporary directory anyway).
	Cleanup bool
	// Progress, when set, receives a line at each step.
	Progress func(format string, args ...any)
	// FanOutHook, when set, is called just before the schedule change and
	// the function it returns once the fan-out is collected (e.g. to take a
	// CPU profile of an in-process server during the fan-out).
	FanOutHook func() (done func())
}

// Server is the server under test.
type Server struct {
	URL       string // admin HTTP base URL
	BrokerURL string // the MQTT broker players connect to
	// Username and Password of an admin account.
	Username, Password string
	// InProcess says the server runs in this process: its memory is this
	// process's (and includes the players' when AgentProcs is 0).
	InProcess bool
	// PID of an external server process whose memory to read from /proc
	// (0: unknown, not reported).
	PID int
	// Stats reads the server's own counters (nil: not reachable, e.g. an
	// external server; plays are then counted from the players' acks).
	Stats func() ServerStats
	// Published, when set, returns when the server last published each
	// display's state (display ID → Unix ns): the fan-out is then split
	// into the server's part and the broker's and player's.
	Published func() map[string]int64
}

// ServerStats are counters read from an in-process server.
type ServerStats struct {
	PlayBatches     uint64 `json:"play_batches"`
	PlaysStored     uint64 `json:"plays_stored"`
	PlaysDuplicates uint64 `json:"plays_duplicates"` // re-sent after a lost or late ack
	PlaysShed       uint64 `json:"plays_shed"`       // the write queue stayed full
	PlaysInvalid    uint64 `json:"plays_invalid"`
	PlayWriteErrors uint64 `json:"play_write_errors"`
	PlayAcks        uint64 `json:"play_acks"`
	PlayAckErrors   uint64 `json:"play_ack_errors"`
	Statuses        uint64 `json:"statuses"`
	// The server's own MQTT client: messages received, and dropped because
	// its handler queue was full.
	ClientReceived uint64 `json:"client_received"`
	ClientDropped  uint64 `json:"client_dropped"`
	// The embedded broker.
	BrokerClients         int64 `json:"broker_clients"`
	BrokerDropped         int64 `json:"broker_dropped"` // a client's write queue was full
	BrokerInflightDropped int64 `json:"broker_inflight_dropped"`
	// Deliveries the broker failed, by recipient: the server's own client
	// or displays (from its debug log).
	DeliveryDropsToServer   uint64 `json:"delivery_drops_to_server"`
	DeliveryDropsToDisplays uint64 `json:"delivery_drops_to_displays"`
	Retained                int64  `json:"retained"`
	// Warnings counts the server's warning and error log lines by message.
	Warnings map[string]uint64 `json:"warnings,omitempty"`
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Displays < 1 {
		errs = append(errs, errors.New("--displays must be at least 1"))
	}
	if c.Server.URL == "" || c.Server.BrokerURL == "" || c.Server.Username == "" || c.Server.Password == "" {
		errs = append(errs, errors.New("the server's URL, broker URL and an admin username and password are required"))
	}
	if c.Item == 0 {
		c.Item = DefaultItem
	}
	if c.Item < time.Second || c.Item%time.Millisecond != 0 {
		errs = append(errs, errors.New("--item must be a whole number of milliseconds, 1s or more (the API's minimum)"))
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Duration < 0 {
		errs = append(errs, errors.New("--duration must not be negative"))
	}
	if c.Ramp <= 0 {
		c.Ramp = DefaultRamp
	}
	if c.SetupConcurrency <= 0 {
		c.SetupConcurrency = DefaultSetupConcurrency
	}
	if c.FanOutTimeout <= 0 {
		c.FanOutTimeout = DefaultFanOutTimeout
	}
	if c.AgentProcs < 0 {
		errs = append(errs, errors.New("agent processes must not be negative"))
	}
	if c.AgentProcs > 0 && c.StartWorker == nil {
		errs = append(errs, errors.New("worker processes need Config.StartWorker"))
	}
	c.AgentProcs = min(c.AgentProcs, c.Displays)
	if c.Progress == nil {
		c.Progress = func(string, ...any) {}
	}
	return c, errors.Join(errs...)
}
