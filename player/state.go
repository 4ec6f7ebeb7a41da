package player

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	marquee "github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/scheduler"
)

// stateFile is the persisted last applied state, inside CacheDir.
const stateFile = "state.json"

// applied is a desired state the agent accepted, with its compiled plan.
// It is immutable once built.
type applied struct {
	state *marquee.DesiredState
	plan  *scheduler.Plan
}

func (s *applied) revision() int64 {
	if s == nil {
		return 0
	}
	return s.state.Revision
}

// manifest returns the state's media and the set of their hashes.
func (s *applied) manifest() ([]marquee.MediaAsset, map[string]bool) {
	if s == nil {
		return nil, map[string]bool{}
	}
	keep := make(map[string]bool, len(s.state.Media))
	for _, m := range s.state.Media {
		keep[m.SHA256] = true
	}
	return s.state.Media, keep
}

// Why a state was dropped. Each has its own counter in Stats.
var (
	errStateStale         = errors.New("revision is not newer than the applied one")
	errStateMalformed     = errors.New("malformed state")
	errStateUnknownFormat = errors.New("unknown state format")
	errStateInvalid       = errors.New("invalid state")
)

// decodeState parses and checks a state for display id, without looking at
// its revision. The error wraps one of the errState* reasons.
func decodeState(raw []byte, displayID string) (*applied, error) {
	if len(raw) > MaxStateBytes {
		return nil, fmt.Errorf("%w: %d bytes is over the %d-byte limit", errStateMalformed, len(raw), MaxStateBytes)
	}
	// Unknown fields are allowed: within one format, fields are only added.
	var probe struct {
		Format *int `json:"format"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("%w: %v", errStateMalformed, err)
	}
	if probe.Format == nil || *probe.Format < 1 || *probe.Format > marquee.StateFormat {
		f := "none"
		if probe.Format != nil {
			f = fmt.Sprint(*probe.Format)
		}
		return nil, fmt.Errorf("%w: format %s (this player knows 1..%d)", errStateUnknownFormat, f, marquee.StateFormat)
	}
	st := new(marquee.DesiredState)
	if err := json.Unmarshal(raw, st); err != nil {
		return nil, fmt.Errorf("%w: %v", errStateMalformed, err)
	}
	if st.DisplayID != displayID {
		return nil, fmt.Errorf("%w: state is for display %q, not %q", errStateInvalid, st.DisplayID, displayID)
	}
	// Compile runs DesiredState.Validate too.
	plan, err := compile(st)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errStateInvalid, err)
	}
	return &applied{state: st, plan: plan}, nil
}

// loadState reads the persisted state. A missing file is (nil, nil): the
// player has never applied a state. Any other failure is an error, and the
// player starts black.
func loadState(dir, displayID string) (*applied, error) {
	raw, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read persisted state: %w", err)
	}
	s, err := decodeState(raw, displayID)
	if err != nil {
		return nil, fmt.Errorf("persisted state: %w", err)
	}
	return s, nil
}

// persistState writes raw to CacheDir/state.json atomically: a temporary
// file in the same directory, fsync, rename, fsync of the directory. A crash
// leaves either the old file or the new one, never a mix.
func persistState(dir string, raw []byte) error {
	return writeFileAtomic(filepath.Join(dir, stateFile), raw)
}

func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// removeStaleTemps removes temporary files a crash left behind.
func removeStaleTemps(dir string) {
	matches, _ := filepath.Glob(filepath.Join(dir, "."+stateFile+".*.tmp"))
	for _, m := range matches {
		os.Remove(m)
	}
}

// compile is scheduler.Compile under recover: a state that would crash the
// resolver (a bug) is refused instead, and the display keeps playing.
func compile(st *marquee.DesiredState) (plan *scheduler.Plan, err error) {
	defer func() {
		if r := recover(); r != nil {
			plan, err = nil, fmt.Errorf("compile panicked: %v", r)
		}
	}()
	return scheduler.Compile(st)
}
