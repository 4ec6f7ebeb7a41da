package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

// CreateSession inserts s. On success an empty ID has been set to a new
// marquee.NewID("ses_"), a zero CreatedAt to now, and both times truncated to
// milliseconds in UTC. An unknown UserID is EINVALID; a token hash already
// stored is ECONFLICT. An empty Kind is stored as auth.SessionBearer.
// Sessions go when their user is deleted.
func (db *DB) CreateSession(ctx context.Context, s *auth.Session) error {
	if s.ID == "" {
		s.ID = marquee.NewID("ses_")
	}
	if s.Kind == "" {
		s.Kind = auth.SessionBearer
	}
	s.CreatedAt = db.stamp(s.CreatedAt)
	s.ExpiresAt = fromMS(toMS(s.ExpiresAt))
	_, err := db.exec(ctx, db.write, `INSERT INTO sessions (id, user_id, token_hash, created_at, expires_at, kind)
		VALUES (?, ?, ?, ?, ?, ?)`, s.ID, s.UserID, s.TokenHash, toMS(s.CreatedAt), toMS(s.ExpiresAt), s.Kind)
	switch constraintViolation(err) {
	case uniqueViolation:
		return marquee.WrapError(marquee.ECONFLICT, err, "session already exists")
	case foreignKeyViolation:
		return marquee.WrapError(marquee.EINVALID, err, "user %q does not exist", s.UserID)
	}
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// FindSessionByTokenHash returns the session with that token hash, expired
// or not (the caller compares ExpiresAt with its clock), or ENOTFOUND.
func (db *DB) FindSessionByTokenHash(ctx context.Context, tokenHash string) (*auth.Session, error) {
	var (
		s                    auth.Session
		createdAt, expiresAt int64
	)
	err := db.queryRow(ctx, db.read, `SELECT `+sessionColumns+`
		FROM sessions WHERE token_hash = ?`, tokenHash).
		Scan(&s.ID, &s.UserID, &s.TokenHash, &createdAt, &expiresAt, &s.Kind)
	if errors.Is(err, sql.ErrNoRows) {
		// The hash is a credential of sorts: not echoed.
		return nil, marquee.Errorf(marquee.ENOTFOUND, "session not found")
	} else if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	s.CreatedAt, s.ExpiresAt = fromMS(createdAt), fromMS(expiresAt)
	return &s, nil
}

// DeleteSession deletes the session, or returns ENOTFOUND when there is
// none with that id (a logout can treat that as done).
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	res, err := db.exec(ctx, db.write, `DELETE FROM sessions WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete session: %w", err)
	} else if n == 0 {
		return marquee.Errorf(marquee.ENOTFOUND, "session %q not found", id)
	}
	return nil
}

// DeleteExpiredSessions deletes the sessions whose ExpiresAt is at or
// before now and returns how many it deleted.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.exec(ctx, db.write, `DELETE FROM sessions WHERE expires_at <= ?`, toMS(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}
