package marquee

import "time"

// WireFormat is the version of the JSON messages a player and the server
// exchange besides the desired state (plays, acks, status, commands). Fields
// are only ever added within one version; a receiver ignores fields it does
// not know.
const WireFormat = 1

// Play reasons: why an item was on screen.
const (
	ReasonSchedule = "schedule"
	ReasonFallback = "fallback"
	ReasonIdle     = "idle"
)

// Play is the proof that one item was shown on one display. The player makes
// the ID (a random UUID) when the item starts, so a play re-sent after a lost
// acknowledgement is stored once. Plays are immutable and keep the media's
// name and hash, so deleting the media never rewrites history.
type Play struct {
	ID               string    `json:"id"`
	DisplayID        string    `json:"display_id"`
	MediaID          string    `json:"media_id"`
	MediaSHA256      string    `json:"media_sha256"`
	MediaName        string    `json:"media_name"`
	PlaylistID       string    `json:"playlist_id"`
	PlaylistRevision int64     `json:"playlist_revision"`
	ScheduleID       string    `json:"schedule_id,omitempty"` // empty for the fallback
	Reason           string    `json:"reason"`                // schedule | fallback
	StartedAt        time.Time `json:"started_at"`            // RFC 3339, UTC
	EndedAt          time.Time `json:"ended_at"`
	PlannedMS        int64     `json:"planned_ms"`
	PlayedMS         int64     `json:"played_ms"`
	Completed        bool      `json:"completed"` // played within CompletedToleranceMS of planned
}

// CompletedToleranceMS is how far a play may fall short of its planned length
// and still count as completed.
const CompletedToleranceMS = 500

// IsCompleted reports whether played is within the tolerance of planned.
func IsCompleted(plannedMS, playedMS int64) bool {
	return playedMS >= plannedMS-CompletedToleranceMS
}

// PlayBatch is what a player publishes on …/plays: journal entries in
// sequence order. Seq numbers are the player's journal positions.
type PlayBatch struct {
	Format    int             `json:"format"`
	DisplayID string          `json:"display_id"`
	Plays     []JournaledPlay `json:"plays"`
}

// JournaledPlay is a play with its position in the player's journal.
type JournaledPlay struct {
	Seq uint64 `json:"seq"`
	Play
}

// PlayAck is what the server publishes on …/plays/ack once a batch is
// committed: every play with a sequence number up to and including Seq is
// stored, and the player may drop it from its journal.
type PlayAck struct {
	Format int    `json:"format"`
	Seq    uint64 `json:"seq"`
}

// Status is the player's retained heartbeat on …/status. The broker publishes
// the player's Last Will, {"online": false}, when it vanishes.
type Status struct {
	Format        int         `json:"format"`
	DisplayID     string      `json:"display_id"`
	Online        bool        `json:"online"`
	StateRevision int64       `json:"state_revision,omitempty"`
	Current       *NowPlaying `json:"current,omitempty"`
	CacheBytes    int64       `json:"cache_bytes,omitempty"`
	FreeDiskBytes int64       `json:"free_disk_bytes,omitempty"`
	UptimeSeconds int64       `json:"uptime_s,omitempty"`
	Version       string      `json:"version,omitempty"`
	ClockOffsetMS *int64      `json:"clock_offset_ms,omitempty"` // player clock − server clock, from HTTP Date / state fetches
	SentAt        time.Time   `json:"sent_at"`
}

// NowPlaying is what a status says is on screen.
type NowPlaying struct {
	MediaID          string    `json:"media_id,omitempty"`
	MediaName        string    `json:"media_name,omitempty"`
	PlaylistID       string    `json:"playlist_id,omitempty"`
	PlaylistRevision int64     `json:"playlist_revision,omitempty"`
	ScheduleID       string    `json:"schedule_id,omitempty"`
	Reason           string    `json:"reason"`
	Since            time.Time `json:"since"`
}

// Command types a player understands.
const (
	CmdReloadState = "reload-state" // fetch the desired state over HTTP now
	CmdResyncMedia = "resync-media" // re-verify every cached file, fetch what is missing
	CmdClearCache  = "clear-cache"  // drop every cached file not needed by the current state
)

// Command is sent by the server on …/cmd.
type Command struct {
	Format   int               `json:"format"`
	ID       string            `json:"id"`
	Type     string            `json:"type"`
	Args     map[string]string `json:"args,omitempty"`
	IssuedAt time.Time         `json:"issued_at"`
}

// CommandResult is the player's answer on …/cmd/result.
type CommandResult struct {
	Format     int       `json:"format"`
	ID         string    `json:"id"`
	OK         bool      `json:"ok"`
	Error      string    `json:"error,omitempty"`
	FinishedAt time.Time `json:"finished_at"`
}
