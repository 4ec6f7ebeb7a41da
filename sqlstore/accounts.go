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

// This file holds what auth.AccountStore adds to auth.Store: user lists and
// updates, the organisation subtree check, session lists, API tokens and
// the login throttle counters. See migrations/*/0008_accounts.sql.

const sessionColumns = `id, user_id, token_hash, created_at, expires_at, kind`

const apiTokenColumns = `id, user_id, name, role, token_hash, created_at, expires_at`

// orgSubtreeSQL is a subquery over one ? (an organisation ID): that
// organisation and every one below it, following organisations.parent_id.
// UNION rather than UNION ALL ends the recursion even on a cycle.
const orgSubtreeSQL = `(WITH RECURSIVE subtree (id) AS (
		SELECT id FROM organisations WHERE id = ?
		UNION
		SELECT o.id FROM organisations o JOIN subtree s ON o.parent_id = s.id)
	SELECT id FROM subtree)`

// OrgInSubtree reports whether orgID is ancestorID or below it, walking up
// from orgID along organisations.parent_id (a path as long as the tree is
// deep, whatever its width). An unknown orgID is false.
func (db *DB) OrgInSubtree(ctx context.Context, ancestorID, orgID string) (bool, error) {
	var n int
	err := db.queryRow(ctx, db.read, `WITH RECURSIVE up (id, parent_id) AS (
			SELECT id, parent_id FROM organisations WHERE id = ?
			UNION
			SELECT o.id, o.parent_id FROM organisations o JOIN up ON o.id = up.parent_id)
		SELECT count(*) FROM up WHERE id = ?`, orgID, ancestorID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check organisation subtree: %w", err)
	}
	return n > 0, nil
}

// FindUsers returns one page of users matching f (an empty slice, not nil,
// when none do), newest first, and the next page's cursor, "" on the last.
// Limits and cursors follow FindMedia's rules.
func (db *DB) FindUsers(ctx context.Context, f auth.UserFilter) ([]*auth.User, string, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	query := `SELECT ` + userColumns + ` FROM users WHERE 1 = 1`
	var args []any
	if f.OrgSubtree != "" {
		query += ` AND org_id IN ` + orgSubtreeSQL
		args = append(args, f.OrgSubtree)
	}
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		query += ` AND id < ?`
		args = append(args, after)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)

	rows, err := db.query(ctx, db.read, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("find users: %w", err)
	}
	defer rows.Close()
	us := []*auth.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, "", fmt.Errorf("find users: %w", err)
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("find users: %w", err)
	}
	next := ""
	if len(us) > limit {
		us = us[:limit]
		next = encodeCursor(us[len(us)-1].ID)
	}
	return us, next, nil
}

// UpdateUser stores u.Role, u.Disabled and u.PasswordHash of user u.ID
// (ENOTFOUND when there is none). With revoke it deletes the user's API
// tokens and its sessions but keepSession in the same transaction. A change
// that takes away an enabled admin of the root organisation is refused with
// ECONFLICT, storing nothing, when no other one would remain. That check
// runs inside the transaction with the root's admins locked (PostgreSQL:
// FOR UPDATE; SQLite: the one writer), so two admins demoting each other at
// once cannot both succeed.
func (db *DB) UpdateUser(ctx context.Context, u *auth.User, revoke bool, keepSession string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		if db.d.forUpdate != "" {
			rows, err := db.query(ctx, tx, `SELECT id FROM users WHERE org_id = ? AND role = ?`+db.d.forUpdate,
				auth.RootOrgID, auth.RoleAdmin)
			if err != nil {
				return fmt.Errorf("lock root admins: %w", err)
			}
			rows.Close()
		}
		old, err := scanUser(db.queryRow(ctx, tx, `SELECT `+userColumns+` FROM users WHERE id = ?`+db.d.forUpdate, u.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return marquee.Errorf(marquee.ENOTFOUND, "user %q not found", u.ID)
		} else if err != nil {
			return fmt.Errorf("find user: %w", err)
		}
		if isRootAdmin(old) && !isRootAdmin(&auth.User{OrgID: old.OrgID, Role: u.Role, Disabled: u.Disabled}) {
			var others int
			err := db.queryRow(ctx, tx, `SELECT count(*) FROM users
				WHERE org_id = ? AND role = ? AND NOT disabled AND id <> ?`,
				auth.RootOrgID, auth.RoleAdmin, u.ID).Scan(&others)
			if err != nil {
				return fmt.Errorf("count root admins: %w", err)
			}
			if others == 0 {
				return marquee.Errorf(marquee.ECONFLICT, "the root organisation must keep at least one enabled admin")
			}
		}
		if _, err := db.exec(ctx, tx, `UPDATE users SET role = ?, disabled = ?, password_hash = ? WHERE id = ?`,
			u.Role, u.Disabled, u.PasswordHash, u.ID); err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if !revoke {
			return nil
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM sessions WHERE user_id = ? AND id <> ?`, u.ID, keepSession); err != nil {
			return fmt.Errorf("revoke sessions: %w", err)
		}
		if _, err := db.exec(ctx, tx, `DELETE FROM api_tokens WHERE user_id = ?`, u.ID); err != nil {
			return fmt.Errorf("revoke api tokens: %w", err)
		}
		return nil
	})
}

// isRootAdmin reports whether u is an enabled admin of the root
// organisation.
func isRootAdmin(u *auth.User) bool {
	return u.OrgID == auth.RootOrgID && u.Role == auth.RoleAdmin && !u.Disabled
}

// FindSessions returns one page of f.UserID's sessions that expire after
// f.Now, newest first, and the next page's cursor ("" on the last).
func (db *DB) FindSessions(ctx context.Context, f auth.CredentialFilter) ([]*auth.Session, string, error) {
	var out []*auth.Session
	next, err := db.findCredentials(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? AND expires_at > ?`,
		f, func(rows *sql.Rows) (string, error) {
			var (
				s                    auth.Session
				createdAt, expiresAt int64
			)
			if err := rows.Scan(&s.ID, &s.UserID, &s.TokenHash, &createdAt, &expiresAt, &s.Kind); err != nil {
				return "", err
			}
			s.CreatedAt, s.ExpiresAt = fromMS(createdAt), fromMS(expiresAt)
			out = append(out, &s)
			return s.ID, nil
		})
	if err != nil {
		return nil, "", fmt.Errorf("find sessions: %w", err)
	}
	if out == nil {
		out = []*auth.Session{}
	}
	return out, next, nil
}

// findCredentials runs query (which selects one user's rows with two ?:
// user ID and now) as one keyset page per f, handing each row to scan,
// which returns the row's ID. It returns the next page's cursor.
func (db *DB) findCredentials(ctx context.Context, query string, f auth.CredentialFilter, scan func(*sql.Rows) (string, error)) (string, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return "", err
	}
	args := []any{f.UserID, toMS(f.Now)}
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return "", err
		}
		query += ` AND id < ?`
		args = append(args, after)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := db.query(ctx, db.read, query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		if len(ids) == limit {
			// The extra row only says that there is a next page.
			return encodeCursor(ids[len(ids)-1]), nil
		}
		id, err := scan(rows)
		if err != nil {
			return "", err
		}
		ids = append(ids, id)
	}
	return "", rows.Err()
}

// DeleteUserSession deletes session id if it belongs to userID; otherwise
// ENOTFOUND.
func (db *DB) DeleteUserSession(ctx context.Context, userID, id string) error {
	return db.deleteOwned(ctx, `DELETE FROM sessions WHERE id = ? AND user_id = ?`, userID, id,
		marquee.Errorf(marquee.ENOTFOUND, "session %q not found", id))
}

// deleteOwned runs a DELETE with two ? (id, user ID) and returns notFound
// when it deleted nothing.
func (db *DB) deleteOwned(ctx context.Context, query, userID, id string, notFound error) error {
	res, err := db.exec(ctx, db.write, query, id, userID)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete: %w", err)
	} else if n == 0 {
		return notFound
	}
	return nil
}

// CreateAPIToken inserts t. On success an empty ID has been set to a new
// marquee.NewID("tok_") and the times truncated to milliseconds in UTC (a
// zero CreatedAt set to now; a zero ExpiresAt, never, stored as NULL). An
// unknown UserID is EINVALID; a token hash already stored ECONFLICT.
func (db *DB) CreateAPIToken(ctx context.Context, t *auth.APIToken) error {
	if t.ID == "" {
		t.ID = marquee.NewID("tok_")
	}
	t.CreatedAt = db.stamp(t.CreatedAt)
	var expires sql.NullInt64
	if !t.ExpiresAt.IsZero() {
		t.ExpiresAt = fromMS(toMS(t.ExpiresAt))
		expires = sql.NullInt64{Int64: toMS(t.ExpiresAt), Valid: true}
	}
	_, err := db.exec(ctx, db.write, `INSERT INTO api_tokens (`+apiTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.UserID, t.Name, t.Role, t.TokenHash, toMS(t.CreatedAt), expires)
	switch constraintViolation(err) {
	case uniqueViolation:
		return marquee.WrapError(marquee.ECONFLICT, err, "api token already exists")
	case foreignKeyViolation:
		return marquee.WrapError(marquee.EINVALID, err, "user %q does not exist", t.UserID)
	}
	if err != nil {
		return fmt.Errorf("create api token: %w", err)
	}
	return nil
}

// FindAPITokenByHash returns the API token with that hash, expired or not
// (the caller compares ExpiresAt with its clock), or ENOTFOUND.
func (db *DB) FindAPITokenByHash(ctx context.Context, tokenHash string) (*auth.APIToken, error) {
	rows, err := db.query(ctx, db.read, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE token_hash = ?`, tokenHash)
	if err != nil {
		return nil, fmt.Errorf("find api token: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("find api token: %w", err)
		}
		// The hash is a credential of sorts: not echoed.
		return nil, marquee.Errorf(marquee.ENOTFOUND, "api token not found")
	}
	t, err := scanAPIToken(rows)
	if err != nil {
		return nil, fmt.Errorf("find api token: %w", err)
	}
	return t, nil
}

// FindAPITokens returns one page of f.UserID's API tokens that never
// expire or expire after f.Now, newest first, and the next page's cursor.
func (db *DB) FindAPITokens(ctx context.Context, f auth.CredentialFilter) ([]*auth.APIToken, string, error) {
	out := []*auth.APIToken{}
	next, err := db.findCredentials(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens
		WHERE user_id = ? AND (expires_at IS NULL OR expires_at > ?)`,
		f, func(rows *sql.Rows) (string, error) {
			t, err := scanAPIToken(rows)
			if err != nil {
				return "", err
			}
			out = append(out, t)
			return t.ID, nil
		})
	if err != nil {
		return nil, "", fmt.Errorf("find api tokens: %w", err)
	}
	return out, next, nil
}

func scanAPIToken(rows *sql.Rows) (*auth.APIToken, error) {
	var (
		t         auth.APIToken
		createdAt int64
		expiresAt sql.NullInt64
	)
	if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &t.Role, &t.TokenHash, &createdAt, &expiresAt); err != nil {
		return nil, err
	}
	t.CreatedAt = fromMS(createdAt)
	if expiresAt.Valid {
		t.ExpiresAt = fromMS(expiresAt.Int64)
	}
	return &t, nil
}

// DeleteAPIToken deletes token id if it belongs to userID; otherwise
// ENOTFOUND.
func (db *DB) DeleteAPIToken(ctx context.Context, userID, id string) error {
	return db.deleteOwned(ctx, `DELETE FROM api_tokens WHERE id = ? AND user_id = ?`, userID, id,
		marquee.Errorf(marquee.ENOTFOUND, "api token %q not found", id))
}

// DeleteExpiredAPITokens deletes the API tokens whose ExpiresAt is set and
// at or before now, and returns how many it deleted.
func (db *DB) DeleteExpiredAPITokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.exec(ctx, db.write, `DELETE FROM api_tokens WHERE expires_at <= ?`, toMS(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired api tokens: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired api tokens: %w", err)
	}
	return n, nil
}

const throttleColumns = `account, failures, window_start, locked_until, lockouts, updated_at`

// FindLoginThrottle returns the account's counters, or ENOTFOUND.
func (db *DB) FindLoginThrottle(ctx context.Context, account string) (*auth.LoginThrottle, error) {
	t, err := db.scanThrottle(db.queryRow(ctx, db.read, `SELECT `+throttleColumns+` FROM login_throttles WHERE account = ?`, account))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, marquee.Errorf(marquee.ENOTFOUND, "no login counters")
	} else if err != nil {
		return nil, fmt.Errorf("find login throttle: %w", err)
	}
	return t, nil
}

// UpdateLoginThrottle reads the account's counters (zero but Account when
// none are stored), applies fn and writes them back, in one transaction
// holding the row's lock (PostgreSQL: the row is inserted first if missing,
// then read FOR UPDATE; SQLite: the write lock). Times are stored as
// milliseconds; zero times as 0. It returns what it stored.
func (db *DB) UpdateLoginThrottle(ctx context.Context, account string, fn func(*auth.LoginThrottle)) (*auth.LoginThrottle, error) {
	var out *auth.LoginThrottle
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, `INSERT INTO login_throttles (`+throttleColumns+`) VALUES (?, 0, 0, 0, 0, 0)
			ON CONFLICT (account) DO NOTHING`, account); err != nil {
			return fmt.Errorf("insert login throttle: %w", err)
		}
		t, err := db.scanThrottle(db.queryRow(ctx, tx, `SELECT `+throttleColumns+` FROM login_throttles WHERE account = ?`+db.d.forUpdate, account))
		if err != nil {
			return fmt.Errorf("read login throttle: %w", err)
		}
		fn(t)
		t.Account = account
		_, err = db.exec(ctx, tx, `UPDATE login_throttles SET failures = ?, window_start = ?, locked_until = ?,
			lockouts = ?, updated_at = ? WHERE account = ?`,
			t.Failures, msOrZero(t.WindowStart), msOrZero(t.LockedUntil), t.Lockouts, msOrZero(t.UpdatedAt), account)
		if err != nil {
			return fmt.Errorf("update login throttle: %w", err)
		}
		out = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.WindowStart, out.LockedUntil, out.UpdatedAt = timeOrZero(msOrZero(out.WindowStart)),
		timeOrZero(msOrZero(out.LockedUntil)), timeOrZero(msOrZero(out.UpdatedAt))
	return out, nil
}

// DeleteLoginThrottle deletes the account's counters, if any.
func (db *DB) DeleteLoginThrottle(ctx context.Context, account string) error {
	if _, err := db.exec(ctx, db.write, `DELETE FROM login_throttles WHERE account = ?`, account); err != nil {
		return fmt.Errorf("delete login throttle: %w", err)
	}
	return nil
}

// DeleteStaleLoginThrottles deletes the counters whose last failure and
// lock both ended before before, and returns how many it deleted.
func (db *DB) DeleteStaleLoginThrottles(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.exec(ctx, db.write, `DELETE FROM login_throttles WHERE updated_at < ? AND locked_until < ?`,
		toMS(before), toMS(before))
	if err != nil {
		return 0, fmt.Errorf("delete stale login throttles: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete stale login throttles: %w", err)
	}
	return n, nil
}

func (db *DB) scanThrottle(row *sql.Row) (*auth.LoginThrottle, error) {
	var (
		t                                     auth.LoginThrottle
		windowStart, lockedUntil, updatedAtMS int64
	)
	if err := row.Scan(&t.Account, &t.Failures, &windowStart, &lockedUntil, &t.Lockouts, &updatedAtMS); err != nil {
		return nil, err
	}
	t.WindowStart, t.LockedUntil, t.UpdatedAt = timeOrZero(windowStart), timeOrZero(lockedUntil), timeOrZero(updatedAtMS)
	return &t, nil
}

// msOrZero and timeOrZero store a zero time.Time as 0 and read 0 back as
// the zero time.
func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return toMS(t)
}

func timeOrZero(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return fromMS(ms)
}
