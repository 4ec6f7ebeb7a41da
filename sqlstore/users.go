package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/auth"
)

const userColumns = `id, org_id, username, password_hash, role, disabled, created_at`

// CountUsers returns the number of users, disabled ones included.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.queryRow(ctx, db.read, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// CreateUser inserts u. On success an empty ID has been set to a new
// marquee.NewID("usr_") and CreatedAt (now when zero) truncated to milliseconds
// in UTC. Usernames are compared exactly (normalise them before): a taken
// username is ECONFLICT; an unknown OrgID is EINVALID.
func (db *DB) CreateUser(ctx context.Context, u *auth.User) error {
	if u.ID == "" {
		u.ID = marquee.NewID("usr_")
	}
	u.CreatedAt = db.stamp(u.CreatedAt)
	_, err := db.exec(ctx, db.write, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.OrgID, u.Username, u.PasswordHash, u.Role, u.Disabled, toMS(u.CreatedAt))
	switch constraintViolation(err) {
	case uniqueViolation:
		// The ID is fresh in practice; the username is what collides.
		return marquee.WrapError(marquee.ECONFLICT, err, "username %q is taken", u.Username)
	case foreignKeyViolation:
		return marquee.WrapError(marquee.EINVALID, err, "organisation %q does not exist", u.OrgID)
	}
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	return nil
}

// FindUserByUsername returns the user with exactly that username, or
// ENOTFOUND.
func (db *DB) FindUserByUsername(ctx context.Context, username string) (*auth.User, error) {
	u, err := scanUser(db.queryRow(ctx, db.read, `SELECT `+userColumns+` FROM users WHERE username = ?`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, marquee.Errorf(marquee.ENOTFOUND, "user %q not found", username)
	} else if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	return u, nil
}

// FindUserByID returns the user, or ENOTFOUND.
func (db *DB) FindUserByID(ctx context.Context, id string) (*auth.User, error) {
	u, err := scanUser(db.queryRow(ctx, db.read, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, marquee.Errorf(marquee.ENOTFOUND, "user %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	return u, nil
}

func scanUser(row interface{ Scan(...any) error }) (*auth.User, error) {
	var (
		u         auth.User
		createdAt int64
	)
	// disabled is INTEGER 0/1 in SQLite and BOOLEAN in PostgreSQL;
	// database/sql converts both into bool.
	if err := row.Scan(&u.ID, &u.OrgID, &u.Username, &u.PasswordHash, &u.Role, &u.Disabled, &createdAt); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMS(createdAt)
	return &u, nil
}
