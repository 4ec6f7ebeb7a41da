package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/audit"
)

// The audit log is one append-only table, audit_log: triggers in both
// dialects refuse UPDATE and DELETE (PostgreSQL: TRUNCATE too), and this
// file only ever inserts and selects. See migrations/*/0007_orgs_audit.sql.

const auditColumns = `id, at, user_id, username, org_id, action, object_type, object_id,
	summary, request_id, remote_ip`

// AppendAudit inserts e. On success e holds what was stored: an empty ID
// is set to a new marquee.NewID("aud_"), a zero At to now, At is truncated
// to milliseconds in UTC, and an empty Summary becomes {}. An entry
// without Action, ObjectType or OrgID, or with a Summary that is not a
// JSON object of at most audit.MaxSummaryBytes, is EINVALID. Entries are
// never changed or deleted: the store has no method that would.
func (db *DB) AppendAudit(ctx context.Context, e *audit.Entry) error {
	switch {
	case e.Action == "":
		return marquee.Errorf(marquee.EINVALID, "audit entry has no action")
	case e.ObjectType == "":
		return marquee.Errorf(marquee.EINVALID, "audit entry has no object type")
	case e.OrgID == "":
		return marquee.Errorf(marquee.EINVALID, "audit entry has no organisation")
	}
	if len(e.Summary) == 0 {
		e.Summary = json.RawMessage(`{}`)
	}
	if len(e.Summary) > audit.MaxSummaryBytes {
		return marquee.Errorf(marquee.EINVALID, "audit summary is larger than %d bytes", audit.MaxSummaryBytes)
	}
	if !isJSONObject(e.Summary) {
		return marquee.Errorf(marquee.EINVALID, "audit summary must be a JSON object")
	}
	if e.ID == "" {
		e.ID = marquee.NewID("aud_")
	}
	e.At = db.stamp(e.At)
	_, err := db.exec(ctx, db.write, `INSERT INTO audit_log (`+auditColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, toMS(e.At), nullString(e.UserID), e.Username, e.OrgID, e.Action, e.ObjectType,
		nullString(e.ObjectID), string(e.Summary), e.RequestID, e.RemoteIP)
	if constraintViolation(err) == uniqueViolation {
		return marquee.WrapError(marquee.ECONFLICT, err, "audit entry %q already exists", e.ID)
	} else if err != nil {
		return fmt.Errorf("append audit entry: %w", err)
	}
	return nil
}

// isJSONObject reports whether b is one valid JSON object.
func isJSONObject(b []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil && m != nil
}

// FindAudit returns one page of entries matching f (an empty slice, not
// nil, when none do), newest first by time then ID, and the cursor of the
// next page, "" on the last. f.Within selects an organisation's subtree.
// From is inclusive, To exclusive. Limits follow FindMedia's rules; a
// malformed cursor is EINVALID.
func (db *DB) FindAudit(ctx context.Context, f audit.Filter) ([]*audit.Entry, string, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, "", err
	}
	var (
		where []string
		args  []any
	)
	for _, eq := range []struct{ col, v string }{
		{"user_id", f.UserID}, {"object_type", f.ObjectType}, {"object_id", f.ObjectID}, {"action", f.Action},
	} {
		if eq.v != "" {
			where = append(where, eq.col+` = ?`)
			args = append(args, eq.v)
		}
	}
	if f.Within != "" {
		where = append(where, inSubtree(`org_id`)) // orgs.go
		args = append(args, f.Within)
	}
	if !f.From.IsZero() {
		where = append(where, `at >= ?`)
		args = append(args, toMS(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, `at < ?`)
		args = append(args, toMS(f.To))
	}
	if f.Cursor != "" {
		at, id, err := decodeTimeCursor(f.Cursor, isIDByte)
		if err != nil {
			return nil, "", err
		}
		// (at, id) < cursor, spelt so that both planners bound the index
		// range by at (as FindPlays does).
		where = append(where, `at <= ? AND (at < ? OR id < ?)`)
		args = append(args, at, at, id)
	}
	query := `SELECT ` + auditColumns + ` FROM audit_log`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)

	rows, err := db.query(ctx, db.read, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("find audit entries: %w", err)
	}
	defer rows.Close()
	entries := []*audit.Entry{}
	for rows.Next() {
		e, err := scanAuditEntry(rows)
		if err != nil {
			return nil, "", fmt.Errorf("find audit entries: %w", err)
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("find audit entries: %w", err)
	}
	next := ""
	if len(entries) > limit {
		entries = entries[:limit]
		last := entries[limit-1]
		next = encodeTimeCursor(toMS(last.At), last.ID)
	}
	return entries, next, nil
}

// scanAuditEntry reads the auditColumns of one row.
func scanAuditEntry(row interface{ Scan(...any) error }) (*audit.Entry, error) {
	var (
		e                audit.Entry
		at               int64
		userID, objectID sql.NullString
		summary          string
	)
	err := row.Scan(&e.ID, &at, &userID, &e.Username, &e.OrgID, &e.Action, &e.ObjectType, &objectID,
		&summary, &e.RequestID, &e.RemoteIP)
	if err != nil {
		return nil, err
	}
	e.At = fromMS(at)
	e.UserID, e.ObjectID = userID.String, objectID.String
	e.Summary = json.RawMessage(summary)
	return &e, nil
}
