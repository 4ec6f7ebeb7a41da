package marquee

import (
	"fmt"
	"time"
)

// StateFormat is the version of the DesiredState JSON format. A player
// refuses a state whose format is newer than it knows and keeps the state it
// has; fields are only ever added within one format version.
const StateFormat = 1

// Layer is a named priority layer. The highest layer with something active
// wins; rules on the same layer share the screen item by item.
type Layer string

// The layers, lowest first.
const (
	LayerFallback  Layer = "fallback"
	LayerNormal    Layer = "normal"
	LayerCampaign  Layer = "campaign"
	LayerTakeover  Layer = "takeover"
	LayerEmergency Layer = "emergency"
)

// Layers lists every layer, lowest first.
var Layers = []Layer{LayerFallback, LayerNormal, LayerCampaign, LayerTakeover, LayerEmergency}

// Rank orders layers: fallback 0 … emergency 4; -1 for an unknown layer.
func (l Layer) Rank() int {
	for i, x := range Layers {
		if x == l {
			return i
		}
	}
	return -1
}

// ParseLayer returns the layer named s, or an EINVALID error.
func ParseLayer(s string) (Layer, error) {
	if l := Layer(s); l.Rank() >= 0 {
		return l, nil
	}
	return "", Errorf(EINVALID, "priority %q is not one of fallback, normal, campaign, takeover, emergency", s)
}

// DesiredState is everything one display needs to decide, on its own and for
// as long as it is cut off, what to show at any instant: the rules that target
// it, the playlist revisions they name, the manifest of files to fetch, the
// fallback and device settings. The server publishes it (retained) and serves
// it over HTTP; package scheduler evaluates it.
type DesiredState struct {
	Format    int            `json:"format"`
	DisplayID string         `json:"display_id"`
	Revision  int64          `json:"revision"` // increases on every change that affects the display, and on nothing else
	Display   DisplayInfo    `json:"display"`
	Rules     []Rule         `json:"rules"`
	Playlists []Playlist     `json:"playlists"`
	Media     []MediaAsset   `json:"media"`
	Fallback  *PlaylistRef   `json:"fallback,omitempty"` // played when no rule is active; nil: black
	Settings  DeviceSettings `json:"settings"`
}

// DisplayInfo is what the state says about the screen itself.
type DisplayInfo struct {
	Name     string `json:"name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	Timezone string `json:"timezone"` // IANA zone
}

// PlaylistRef names one immutable playlist revision.
type PlaylistRef struct {
	PlaylistID string `json:"playlist_id"`
	Revision   int64  `json:"revision"`
}

// Rule is one schedule as it applies to a display: when its playlist plays
// and on which layer.
//
// With an empty Cron the rule is active all day on every date from StartsOn to
// EndsOn. Otherwise every time Cron fires (in Timezone) on a date within the
// range opens a window of DurationMS; windows may cross midnight and outlast
// EndsOn (EndsOn is the last date a window may start). Empty StartsOn or EndsOn
// leave that side open.
type Rule struct {
	ScheduleID string      `json:"schedule_id"`
	Name       string      `json:"name"`
	Playlist   PlaylistRef `json:"playlist"`
	Layer      Layer       `json:"priority"`
	Cron       string      `json:"cron,omitempty"`
	DurationMS int64       `json:"duration_ms,omitempty"`
	StartsOn   string      `json:"starts_on,omitempty"` // YYYY-MM-DD
	EndsOn     string      `json:"ends_on,omitempty"`   // YYYY-MM-DD, inclusive
	Timezone   string      `json:"timezone"`            // IANA zone of Cron and the dates
}

// Playlist is one immutable playlist revision as a display plays it.
type Playlist struct {
	PlaylistID string         `json:"playlist_id"`
	Revision   int64          `json:"revision"`
	Name       string         `json:"name"`
	Items      []PlaylistItem `json:"items"`
}

// PlaylistItem is one entry of a playlist. SHA256 names the asset in
// DesiredState.Media that the display plays (the rendition cut for its size).
// An item is skipped outside [ValidFrom, ValidUntil).
type PlaylistItem struct {
	MediaID    string     `json:"media_id"`
	SHA256     string     `json:"sha256"`
	DurationMS int64      `json:"duration_ms"`
	Fit        string     `json:"fit"`
	ValidFrom  *time.Time `json:"valid_from,omitempty"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
}

// MediaAsset is one file a display must hold: content-addressed by the SHA-256
// of the bytes at URL, which the player verifies before the file may play.
// URL is relative to the server's base URL.
type MediaAsset struct {
	SHA256     string `json:"sha256"`
	MediaID    string `json:"media_id"`
	Name       string `json:"name"`
	Kind       string `json:"kind"` // image | video
	MIME       string `json:"mime"`
	Size       int64  `json:"size"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	DurationMS int64  `json:"duration_ms,omitempty"`
	URL        string `json:"url"`
}

// DeviceSettings are settings the display applies. Zero values mean "leave as
// configured on the device".
type DeviceSettings struct {
	Brightness *int `json:"brightness,omitempty"` // percent, 0..100
}

// Playlist returns the playlist revision ref names, or nil.
func (s *DesiredState) Playlist(ref PlaylistRef) *Playlist {
	for i := range s.Playlists {
		if p := &s.Playlists[i]; p.PlaylistID == ref.PlaylistID && p.Revision == ref.Revision {
			return p
		}
	}
	return nil
}

// Asset returns the media asset with the given SHA-256, or nil.
func (s *DesiredState) Asset(sha256 string) *MediaAsset {
	for i := range s.Media {
		if s.Media[i].SHA256 == sha256 {
			return &s.Media[i]
		}
	}
	return nil
}

// Validate checks the state's internal consistency: a known format, known
// layers, and every reference resolvable. It does not parse cron specs or
// zones (package scheduler does). Errors have code EINVALID.
func (s *DesiredState) Validate() error {
	if s.Format < 1 || s.Format > StateFormat {
		return Errorf(EINVALID, "state format %d is not supported (this build knows 1..%d)", s.Format, StateFormat)
	}
	if s.DisplayID == "" {
		return Errorf(EINVALID, "state has no display_id")
	}
	for i, r := range s.Rules {
		if r.Layer.Rank() < 0 {
			return Errorf(EINVALID, "rule %d: unknown priority %q", i, r.Layer)
		}
		if s.Playlist(r.Playlist) == nil {
			return Errorf(EINVALID, "rule %d: playlist %s revision %d is not in the state", i, r.Playlist.PlaylistID, r.Playlist.Revision)
		}
		if r.Cron != "" && r.DurationMS <= 0 {
			return Errorf(EINVALID, "rule %d: a cron rule needs a positive duration", i)
		}
		for _, d := range []string{r.StartsOn, r.EndsOn} {
			if d == "" {
				continue
			}
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				return Errorf(EINVALID, "rule %d: date %q is not YYYY-MM-DD", i, d)
			}
		}
	}
	if s.Fallback != nil && s.Playlist(*s.Fallback) == nil {
		return Errorf(EINVALID, "fallback playlist %s revision %d is not in the state", s.Fallback.PlaylistID, s.Fallback.Revision)
	}
	for _, p := range s.Playlists {
		for j, it := range p.Items {
			if it.DurationMS <= 0 {
				return Errorf(EINVALID, "playlist %s item %d: duration must be positive", p.PlaylistID, j)
			}
			if s.Asset(it.SHA256) == nil {
				return Errorf(EINVALID, "playlist %s item %d: asset %s is not in the manifest", p.PlaylistID, j, it.SHA256)
			}
		}
	}
	return nil
}

// String names a playlist revision for logs.
func (r PlaylistRef) String() string { return fmt.Sprintf("%s@%d", r.PlaylistID, r.Revision) }
