package displays

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

// DefaultTimezone is the zone of a display created without one.
const DefaultTimezone = "Asia/Ho_Chi_Minh"

// MaxSide is the largest width or height of a display, in pixels.
const MaxSide = 16384

// tokenPrefix marks display tokens ("marquee display"), as auth's "mqt_"
// marks user tokens, so that either is recognisable in logs and by secret
// scanners and one is never mistaken for the other.
const tokenPrefix = "mqd_"

// maxTokenLen bounds what Authenticate hashes; real tokens are 47 bytes.
const maxTokenLen = 256

// msgBadCredentials is the one answer to a failed Authenticate, whether the
// display is unknown or the token wrong.
const msgBadCredentials = "invalid display or token"

// Input holds the editable fields of a display: the body of a create (POST)
// or a full replace (PUT).
type Input struct {
	// OrgID is the owning organisation, which must be in the actor's
	// scope; used by Create only.
	OrgID    string
	Name     string
	Width    int
	Height   int
	Timezone string // "" means DefaultTimezone
	Tags     []string
	// Location may be nil; an empty one is stored as nil.
	Location *Location
	// FallbackPlaylistID names an existing playlist, or "" for none.
	FallbackPlaylistID string
}

// Config holds the settings of a Service. The zero value is usable.
type Config struct {
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Service manages displays and their credentials. It is safe for
// concurrent use.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns a Service over store.
func NewService(store Store, cfg Config) *Service {
	s := &Service{store: store, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Create validates in and stores a new display with a fresh token. It
// returns the display and the token, which is shown only this once: the
// store keeps its hash. Invalid input is EINVALID with a message that names
// the field; so is an organisation outside the actor's scope
// (auth.Scope.CheckOwner) and a fallback playlist that does not exist in
// the display's organisation, one above it or one below it.
func (s *Service) Create(ctx context.Context, in Input) (*Display, string, error) {
	if err := auth.ScopeFrom(ctx).CheckOwner(in.OrgID); err != nil {
		return nil, "", err
	}
	d, err := validate(in)
	if err != nil {
		return nil, "", err
	}
	token, hash := newToken()
	d.ID = marquee.NewID("dsp_")
	d.OrgID = in.OrgID
	d.TokenHash = hash
	d.CreatedAt = s.now().UTC()
	d.UpdatedAt = d.CreatedAt
	if err := s.store.CreateDisplay(ctx, d); err != nil {
		return nil, "", fmt.Errorf("create display: %w", err)
	}
	return d, token, nil
}

// RotateToken gives the display a new token and returns it (shown once).
// The old token stops working at once. ENOTFOUND for an unknown ID (or one
// outside the actor's scope).
func (s *Service) RotateToken(ctx context.Context, id string) (string, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return "", err
	}
	token, hash := newToken()
	if err := s.store.SetDisplayTokenHash(ctx, id, hash, s.now().UTC()); err != nil {
		return "", fmt.Errorf("rotate display token: %w", err)
	}
	return token, nil
}

// Get returns the display, or ENOTFOUND — also when it belongs to an
// organisation outside the actor's scope (auth.ScopeFrom), so that its
// existence is not revealed. What hangs off a display (its desired state,
// timeline, commands) is reached through Get first.
func (s *Service) Get(ctx context.Context, id string) (*Display, error) {
	d, err := s.store.FindDisplayByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("find display: %w", err)
	}
	if !auth.ScopeFrom(ctx).Contains(d.OrgID) {
		return nil, marquee.Errorf(marquee.ENOTFOUND, "display %q not found", id)
	}
	return d, nil
}

// List returns one page of the displays in the actor's scope that match f,
// newest first, and the cursor of the next page ("" at the end). f.Tag is
// matched after the same normalisation as stored tags; f.Within is replaced
// by the actor's scope. A Limit outside 0..500 or a malformed cursor is
// EINVALID.
func (s *Service) List(ctx context.Context, f Filter) ([]*Display, string, error) {
	if f.Limit < 0 || f.Limit > 500 {
		return nil, "", marquee.Errorf(marquee.EINVALID, "limit must be between 1 and 500")
	}
	f.Tag = strings.ToLower(norm.NFC.String(strings.TrimSpace(f.Tag)))
	f.Within = auth.ScopeFrom(ctx).Within()
	ds, next, err := s.store.FindDisplays(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("find displays: %w", err)
	}
	return ds, next, nil
}

// Update replaces every editable field of the display with in (a PUT: an
// absent tag list clears the tags, an absent location removes it) and
// returns the stored display. in.OrgID is ignored: displays do not move
// between organisations. ENOTFOUND for an unknown ID (or one outside the
// actor's scope); EINVALID as for Create.
func (s *Service) Update(ctx context.Context, id string, in Input) (*Display, error) {
	d, err := validate(in)
	if err != nil {
		return nil, err
	}
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	d.ID = id
	d.UpdatedAt = s.now().UTC()
	d, err = s.store.UpdateDisplay(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("update display: %w", err)
	}
	return d, nil
}

// Delete removes the display; schedules that named it stop targeting it.
// ENOTFOUND for an unknown ID (or one outside the actor's scope).
func (s *Service) Delete(ctx context.Context, id string) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	if err := s.store.DeleteDisplay(ctx, id); err != nil {
		return fmt.Errorf("delete display: %w", err)
	}
	return nil
}

// Authenticate returns the display whose ID and token these are. An unknown
// display or a wrong, malformed or rotated-away token is EUNAUTHORIZED, with
// the same message either way; the hashes are compared in constant time.
func (s *Service) Authenticate(ctx context.Context, displayID, token string) (*Display, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > maxTokenLen {
		return nil, marquee.Errorf(marquee.EUNAUTHORIZED, msgBadCredentials)
	}
	hash := auth.HashToken(token)
	d, err := s.store.FindDisplayByID(ctx, displayID)
	if marquee.ErrorCode(err) == marquee.ENOTFOUND {
		return nil, marquee.Errorf(marquee.EUNAUTHORIZED, msgBadCredentials)
	} else if err != nil {
		return nil, fmt.Errorf("find display: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(hash), []byte(d.TokenHash)) != 1 {
		return nil, marquee.Errorf(marquee.EUNAUTHORIZED, msgBadCredentials)
	}
	return d, nil
}

// newToken returns a new display token — "mqd_" and 32 random bytes in
// unpadded base64url — and its hash in auth's scheme (hex SHA-256 of the
// whole token).
func newToken() (token, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it crashes instead
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, auth.HashToken(token)
}
