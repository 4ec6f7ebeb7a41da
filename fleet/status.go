package fleet

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/mqtt"
)

// Display status.
//
// A player publishes a retained heartbeat on …/status; its Last Will, which
// the broker publishes when the connection drops without a DISCONNECT, is
// {"online": false}. The handler stores the latest status of each display
// and, on every online↔offline transition (and the first status ever
// heard), appends a status event, from which reports compute uptime.
// last_seen is the server's receive time of the last heartbeat that said
// online; an offline status keeps it, keeps the last known health figures
// and clears what is on screen. A status for a display that does not exist
// is dropped and counted, as is a malformed one. An empty retained payload
// (a cleared retained message) is ignored.
//
// Statuses are applied in the order handlers run. The client may run two
// messages of one display concurrently; heartbeats are tens of seconds
// apart and a Last Will follows the last heartbeat by a keepalive or more,
// so only messages microseconds apart could be applied out of order.

func init() {
	register(feature{
		name: "status",
		subscriptions: func(s *Service) []subscription {
			return []subscription{{filter: s.topics.AllDisplays(mqtt.KindStatus), qos: 1, handler: s.handleStatus}}
		},
	})
}

// Status limits.
const (
	maxStatusPayload = 64 << 10
	maxStatusText    = 1024 // any string in a status
)

// DisplayStatus is the latest status a display reported.
type DisplayStatus struct {
	DisplayID string
	Online    bool
	// LastSeen is when the server last received a heartbeat saying online;
	// nil before the first.
	LastSeen *time.Time
	// StateRevision is the desired-state revision the player applied.
	StateRevision int64
	// Current is what is on screen; nil when unknown or offline.
	Current       *marquee.NowPlaying
	Version       string
	CacheBytes    int64
	FreeDiskBytes int64
	UptimeSeconds int64
	// ClockOffsetMS is the player's clock minus the server's, as the player
	// estimated it; nil when unknown.
	ClockOffsetMS *int64
	UpdatedAt     time.Time
}

// StatusEvent is one online↔offline transition of a display.
type StatusEvent struct {
	DisplayID string
	At        time.Time
	Online    bool
}

// StatusStats count the statuses received.
type StatusStats struct {
	Received       uint64 // messages on …/status, empty ones included
	Dropped        uint64 // malformed: not JSON, oversized, another format or display, bad values
	UnknownDisplay uint64 // of a display that does not exist
	Transitions    uint64 // online↔offline changes recorded
	WriteErrors    uint64 // statuses the store failed to save
}

type statusCounters struct {
	received, dropped, unknownDisplay, transitions, writeErrors atomic.Uint64
}

func (n *statusCounters) stats() StatusStats {
	return StatusStats{Received: n.received.Load(), Dropped: n.dropped.Load(), UnknownDisplay: n.unknownDisplay.Load(),
		Transitions: n.transitions.Load(), WriteErrors: n.writeErrors.Load()}
}

// handleStatus is the handler of …/+/status.
func (s *Service) handleStatus(ctx context.Context, m mqtt.Message) {
	n := &s.statuses
	n.received.Add(1)
	if len(m.Payload) == 0 {
		return // a retained status being cleared
	}
	st, err := s.parseStatus(m)
	if err != nil {
		n.dropped.Add(1)
		s.logger.Warn("status dropped", "topic", m.Topic, "bytes", len(m.Payload), "reason", err.Error())
		return
	}
	transition, err := s.store.SaveDisplayStatus(ctx, st)
	switch {
	case marquee.ErrorCode(err) == marquee.ENOTFOUND:
		n.unknownDisplay.Add(1)
		s.logger.Warn("status of an unknown display dropped", "display_id", st.DisplayID)
	case err != nil:
		n.writeErrors.Add(1)
		s.logger.Error("save display status", "display_id", st.DisplayID, "err", err)
	case transition:
		n.transitions.Add(1)
		s.logger.Info("display status changed", "display_id", st.DisplayID, "online", st.Online)
	}
}

// parseStatus checks a status message and returns what to store, or the
// reason it is dropped.
func (s *Service) parseStatus(m mqtt.Message) (*DisplayStatus, error) {
	displayID, kind, ok := s.topics.Parse(m.Topic)
	switch {
	case !ok || kind != mqtt.KindStatus:
		return nil, marquee.Errorf(marquee.EINVALID, "not a status topic")
	case len(m.Payload) > maxStatusPayload:
		return nil, marquee.Errorf(marquee.ETOOLARGE, "payload over %d bytes", maxStatusPayload)
	}
	var in marquee.Status
	if err := json.Unmarshal(m.Payload, &in); err != nil {
		return nil, marquee.Errorf(marquee.EINVALID, "not a JSON status")
	}
	switch {
	// A Last Will is often just {"online":false}: format 0 is format 1.
	case in.Format < 0 || in.Format > marquee.WireFormat:
		return nil, marquee.Errorf(marquee.EINVALID, "format %d is not %d", in.Format, marquee.WireFormat)
	case in.DisplayID != "" && in.DisplayID != displayID:
		return nil, marquee.Errorf(marquee.EINVALID, "status of display %q on the topic of %q", in.DisplayID, displayID)
	case in.StateRevision < 0 || in.CacheBytes < 0 || in.FreeDiskBytes < 0 || in.UptimeSeconds < 0:
		return nil, marquee.Errorf(marquee.EINVALID, "negative figures")
	}
	texts := []string{in.Version}
	if c := in.Current; c != nil {
		texts = append(texts, c.MediaID, c.MediaName, c.PlaylistID, c.ScheduleID, c.Reason)
		if c.PlaylistRevision < 0 {
			return nil, marquee.Errorf(marquee.EINVALID, "negative playlist revision")
		}
	}
	for _, t := range texts {
		if len(t) > maxStatusText || !utf8.ValidString(t) || strings.ContainsRune(t, 0) {
			return nil, marquee.Errorf(marquee.EINVALID, "a text field is too long or not valid text")
		}
	}
	now := s.now().UTC()
	st := &DisplayStatus{
		DisplayID:     displayID,
		Online:        in.Online,
		StateRevision: in.StateRevision,
		Version:       in.Version,
		CacheBytes:    in.CacheBytes,
		FreeDiskBytes: in.FreeDiskBytes,
		UptimeSeconds: in.UptimeSeconds,
		ClockOffsetMS: in.ClockOffsetMS,
		UpdatedAt:     now,
	}
	if in.Online {
		st.LastSeen = &now
		if in.Current != nil {
			c := *in.Current
			c.Since = c.Since.UTC()
			st.Current = &c
		}
	}
	return st, nil
}

// DisplayStatuses returns the latest status of each of the displays that
// has reported one, keyed by display ID; displays that never did are
// absent.
func (s *Service) DisplayStatuses(ctx context.Context, ids []string) (map[string]*DisplayStatus, error) {
	return s.store.FindDisplayStatuses(ctx, ids)
}
