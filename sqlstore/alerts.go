package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/alerts"
)

var _ alerts.Store = (*DB)(nil)

const alertColumns = `a.id, a.display_id, a.display_name, a.org_id, a.opened_at, a.closed_at, a.last_seen`

// FindAlertCandidates returns every display that has a status, with its
// silence threshold and open alert (alerts.Store).
func (db *DB) FindAlertCandidates(ctx context.Context) ([]alerts.Candidate, error) {
	rows, err := db.query(ctx, db.read, `SELECT d.id, d.name, d.org_id, d.offline_alert_after, s.online, s.last_seen, s.updated_at,
		a.id, a.opened_at, a.last_seen
		FROM displays d JOIN display_status s ON s.display_id = d.id
		LEFT JOIN alerts a ON a.display_id = d.id AND a.closed_at IS NULL
		ORDER BY d.id`)
	if err != nil {
		return nil, fmt.Errorf("find alert candidates: %w", err)
	}
	defer rows.Close()
	var cs []alerts.Candidate
	for rows.Next() {
		var (
			c                       alerts.Candidate
			threshold, lastSeen     sql.NullInt64
			statusAt                int64
			alertID                 sql.NullString
			openedAt, alertLastSeen sql.NullInt64
		)
		if err := rows.Scan(&c.DisplayID, &c.DisplayName, &c.OrgID, &threshold, &c.Online, &lastSeen, &statusAt,
			&alertID, &openedAt, &alertLastSeen); err != nil {
			return nil, fmt.Errorf("scan alert candidate: %w", err)
		}
		if threshold.Valid {
			c.Threshold = time.Duration(threshold.Int64) * time.Second
		}
		c.LastSeen = nullTime(lastSeen)
		c.StatusAt = fromMS(statusAt)
		if alertID.Valid {
			c.Open = &alerts.Alert{ID: alertID.String, DisplayID: c.DisplayID, DisplayName: c.DisplayName, OrgID: c.OrgID,
				OpenedAt: fromMS(openedAt.Int64), LastSeen: nullTime(alertLastSeen)}
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find alert candidates: %w", err)
	}
	rows.Close()
	// Open alerts of deleted displays, so that they close.
	gone, err := db.query(ctx, db.read, `SELECT `+alertColumns+` FROM alerts a
		WHERE a.closed_at IS NULL AND NOT EXISTS (SELECT 1 FROM displays d WHERE d.id = a.display_id)`)
	if err != nil {
		return nil, fmt.Errorf("find alerts of deleted displays: %w", err)
	}
	defer gone.Close()
	for gone.Next() {
		a, err := scanAlert(gone)
		if err != nil {
			return nil, err
		}
		cs = append(cs, alerts.Candidate{DisplayID: a.DisplayID, DisplayName: a.DisplayName, OrgID: a.OrgID, Open: a, Gone: true})
	}
	if err := gone.Err(); err != nil {
		return nil, fmt.Errorf("find alerts of deleted displays: %w", err)
	}
	return cs, nil
}

func scanAlert(row interface{ Scan(...any) error }) (*alerts.Alert, error) {
	var (
		a                alerts.Alert
		opened           int64
		closed, lastSeen sql.NullInt64
	)
	if err := row.Scan(&a.ID, &a.DisplayID, &a.DisplayName, &a.OrgID, &opened, &closed, &lastSeen); err != nil {
		return nil, fmt.Errorf("scan alert: %w", err)
	}
	a.OpenedAt, a.ClosedAt, a.LastSeen = fromMS(opened), nullTime(closed), nullTime(lastSeen)
	return &a, nil
}

func nullTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func nullMS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: toMS(*t), Valid: true}
}

// OpenAlert inserts a and its deliveries in one transaction; false, and
// nothing stored, when the display already has an open alert (the partial
// unique index alerts_open_display_idx).
func (db *DB) OpenAlert(ctx context.Context, a *alerts.Alert) (bool, error) {
	opened := false
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `INSERT INTO alerts (id, display_id, display_name, org_id, opened_at, closed_at, last_seen)
			VALUES (?, ?, ?, ?, ?, NULL, ?) ON CONFLICT DO NOTHING`,
			a.ID, a.DisplayID, a.DisplayName, a.OrgID, toMS(a.OpenedAt), nullMS(a.LastSeen))
		if err != nil {
			return fmt.Errorf("insert alert: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		opened = true
		return db.enqueueDeliveries(ctx, tx, alerts.EventOpened, a, a.OpenedAt)
	})
	return opened, err
}

// CloseAlert closes open alert a.ID at *a.ClosedAt and enqueues its
// deliveries; false when it was not open.
func (db *DB) CloseAlert(ctx context.Context, a *alerts.Alert) (bool, error) {
	if a.ClosedAt == nil {
		return false, marquee.Errorf(marquee.EINVALID, "alert %s has no closing time", a.ID)
	}
	closed := false
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE alerts SET closed_at = ? WHERE id = ? AND closed_at IS NULL`, toMS(*a.ClosedAt), a.ID)
		if err != nil {
			return fmt.Errorf("close alert: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		closed = true
		return db.enqueueDeliveries(ctx, tx, alerts.EventClosed, a, *a.ClosedAt)
	})
	return closed, err
}

// enqueueDeliveries writes a delivery of event about a to each webhook of
// a's organisation or one above it (whose path a's starts with) that
// wants the event.
func (db *DB) enqueueDeliveries(ctx context.Context, tx *sql.Tx, event string, a *alerts.Alert, at time.Time) error {
	body, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode alert: %w", err)
	}
	rows, err := db.query(ctx, tx, `SELECT w.id, w.events FROM webhooks w
		JOIN organisations wo ON wo.id = w.org_id
		JOIN organisations ao ON ao.id = ?
		WHERE `+pathWithin(`ao.path`, `wo.path`)+` ORDER BY w.id`, a.OrgID)
	if err != nil {
		return fmt.Errorf("find webhooks of alert: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id, events string
		if err := rows.Scan(&id, &events); err != nil {
			rows.Close()
			return fmt.Errorf("scan webhook: %w", err)
		}
		if slices.Contains(strings.Split(events, ","), event) {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find webhooks of alert: %w", err)
	}
	for _, id := range ids {
		if _, err := db.exec(ctx, tx, `INSERT INTO webhook_deliveries
			(id, webhook_id, event, alert_json, created_at, next_attempt_at, attempts, state, last_error)
			VALUES (?, ?, ?, ?, ?, ?, 0, 'pending', '')`,
			marquee.NewID("dlv_"), id, event, string(body), toMS(at), toMS(at)); err != nil {
			return fmt.Errorf("insert delivery: %w", err)
		}
	}
	return nil
}

// FindAlerts returns one page of the alerts matching f, newest opened
// first (by opened_at, then ID), at most f.Limit (0: alerts.DefaultLimit;
// above alerts.MaxLimit: MaxLimit), and the cursor of the next page (""
// on the last). A malformed cursor is EINVALID.
func (db *DB) FindAlerts(ctx context.Context, f alerts.Filter) ([]*alerts.Alert, string, error) {
	var (
		where []string
		args  []any
	)
	switch f.State {
	case "open":
		where = append(where, `a.closed_at IS NULL`)
	case "closed":
		where = append(where, `a.closed_at IS NOT NULL`)
	}
	if f.DisplayID != "" {
		where, args = append(where, `a.display_id = ?`), append(args, f.DisplayID)
	}
	if !f.From.IsZero() {
		where, args = append(where, `a.opened_at >= ?`), append(args, toMS(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, `a.opened_at < ?`), append(args, toMS(f.To))
	}
	if f.Within != "" {
		where, args = append(where, inSubtree(`a.org_id`)), append(args, f.Within)
	}
	if f.Cursor != "" {
		at, id, err := decodeTimeCursor(f.Cursor, isIDByte)
		if err != nil {
			return nil, "", err
		}
		// (opened_at, id) < (at, id), spelt so that both planners bound
		// the index range by opened_at.
		where = append(where, `a.opened_at <= ? AND (a.opened_at < ? OR a.id < ?)`)
		args = append(args, at, at, id)
	}
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = alerts.DefaultLimit
	case limit > alerts.MaxLimit:
		limit = alerts.MaxLimit
	}
	query := `SELECT ` + alertColumns + ` FROM alerts a`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY a.opened_at DESC, a.id DESC LIMIT ?`
	rows, err := db.query(ctx, db.read, query, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("find alerts: %w", err)
	}
	defer rows.Close()
	as := []*alerts.Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, "", err
		}
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("find alerts: %w", err)
	}
	next := ""
	if len(as) > limit {
		as = as[:limit]
		last := as[limit-1]
		next = encodeTimeCursor(toMS(last.OpenedAt), last.ID)
	}
	return as, next, nil
}

// DisplayThreshold returns display id's offline_alert_after (0: none) when
// it is in within's subtree ("" anywhere); otherwise ENOTFOUND.
func (db *DB) DisplayThreshold(ctx context.Context, id, within string) (time.Duration, error) {
	query, args := `SELECT offline_alert_after FROM displays WHERE id = ?`, []any{id}
	if within != "" {
		query, args = query+` AND `+inSubtree(`org_id`), append(args, within)
	}
	var after sql.NullInt64
	err := db.queryRow(ctx, db.read, query, args...).Scan(&after)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, marquee.Errorf(marquee.ENOTFOUND, "display %q not found", id)
	}
	if err != nil {
		return 0, fmt.Errorf("find display threshold: %w", err)
	}
	return time.Duration(after.Int64) * time.Second, nil
}

// SetDisplayThreshold sets display id's offline_alert_after (0: NULL)
// when it is in within's subtree ("" anywhere); otherwise ENOTFOUND.
func (db *DB) SetDisplayThreshold(ctx context.Context, id, within string, after time.Duration) error {
	var v sql.NullInt64
	if after > 0 {
		v = sql.NullInt64{Int64: int64(after / time.Second), Valid: true}
	}
	query, args := `UPDATE displays SET offline_alert_after = ? WHERE id = ?`, []any{v, id}
	if within != "" {
		query, args = query+` AND `+inSubtree(`org_id`), append(args, within)
	}
	res, err := db.exec(ctx, db.write, query, args...)
	if err != nil {
		return fmt.Errorf("set display threshold: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set display threshold: %w", err)
	} else if n == 0 {
		return marquee.Errorf(marquee.ENOTFOUND, "display %q not found", id)
	}
	return nil
}

// CreateWebhook inserts w. An organisation that does not exist is
// EINVALID.
func (db *DB) CreateWebhook(ctx context.Context, w *alerts.Webhook) error {
	_, err := db.exec(ctx, db.write, `INSERT INTO webhooks (id, org_id, url, secret, events, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		w.ID, w.OrgID, w.URL, w.Secret, strings.Join(w.Events, ","), toMS(w.CreatedAt))
	switch constraintViolation(err) {
	case foreignKeyViolation:
		return marquee.Errorf(marquee.EINVALID, "organisation %q not found", w.OrgID)
	case uniqueViolation:
		return marquee.Errorf(marquee.ECONFLICT, "webhook %q exists", w.ID)
	}
	if err != nil {
		return fmt.Errorf("insert webhook: %w", err)
	}
	return nil
}

// FindWebhooks returns the webhooks of organisation within's subtree (""
// all), oldest first, secrets included.
func (db *DB) FindWebhooks(ctx context.Context, within string) ([]*alerts.Webhook, error) {
	query, args := `SELECT w.id, w.org_id, w.url, w.secret, w.events, w.created_at FROM webhooks w`, []any{}
	if within != "" {
		query, args = query+` WHERE `+inSubtree(`w.org_id`), append(args, within)
	}
	rows, err := db.query(ctx, db.read, query+` ORDER BY w.created_at, w.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("find webhooks: %w", err)
	}
	defer rows.Close()
	ws := []*alerts.Webhook{}
	for rows.Next() {
		var (
			w       alerts.Webhook
			events  string
			created int64
		)
		if err := rows.Scan(&w.ID, &w.OrgID, &w.URL, &w.Secret, &events, &created); err != nil {
			return nil, fmt.Errorf("scan webhook: %w", err)
		}
		w.Events, w.CreatedAt = strings.Split(events, ","), fromMS(created)
		ws = append(ws, &w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find webhooks: %w", err)
	}
	return ws, nil
}

// DeleteWebhook deletes webhook id, and its deliveries, when it is in
// within's subtree ("" anywhere); otherwise ENOTFOUND.
func (db *DB) DeleteWebhook(ctx context.Context, id, within string) error {
	query, args := `DELETE FROM webhooks WHERE id = ?`, []any{id}
	if within != "" {
		query, args = query+` AND `+inSubtree(`org_id`), append(args, within)
	}
	res, err := db.exec(ctx, db.write, query, args...)
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	} else if n == 0 {
		return marquee.Errorf(marquee.ENOTFOUND, "webhook %q not found", id)
	}
	return nil
}

// ClaimDeliveries returns up to limit pending deliveries due at now,
// oldest due first, and postpones each to now+lease in the same
// transaction. On PostgreSQL rows another sender has locked are skipped.
func (db *DB) ClaimDeliveries(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]alerts.Delivery, error) {
	var ds []alerts.Delivery
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		lock := ""
		if db.d.name == dialectPostgres {
			lock = ` FOR UPDATE OF d SKIP LOCKED`
		}
		rows, err := db.query(ctx, tx, `SELECT d.id, d.webhook_id, w.url, w.secret, d.event, d.alert_json, d.attempts, d.created_at
			FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
			WHERE d.state = 'pending' AND d.next_attempt_at <= ?
			ORDER BY d.next_attempt_at, d.id LIMIT ?`+lock, toMS(now), limit)
		if err != nil {
			return fmt.Errorf("find due deliveries: %w", err)
		}
		for rows.Next() {
			var (
				d       alerts.Delivery
				body    string
				created int64
			)
			if err := rows.Scan(&d.ID, &d.WebhookID, &d.URL, &d.Secret, &d.Event, &body, &d.Attempts, &created); err != nil {
				rows.Close()
				return fmt.Errorf("scan delivery: %w", err)
			}
			d.Alert, d.CreatedAt = json.RawMessage(body), fromMS(created)
			ds = append(ds, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find due deliveries: %w", err)
		}
		for _, d := range ds {
			if _, err := db.exec(ctx, tx, `UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?`,
				toMS(now.Add(lease)), d.ID); err != nil {
				return fmt.Errorf("claim delivery: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ds, nil
}

// FinishDelivery records the outcome of one attempt at delivery id. A
// delivery that no longer exists (its webhook deleted) is not an error.
func (db *DB) FinishDelivery(ctx context.Context, id string, r alerts.DeliveryResult) error {
	var delivered sql.NullInt64
	next := toMS(r.At)
	switch r.State {
	case alerts.StateDelivered:
		delivered = sql.NullInt64{Int64: toMS(r.At), Valid: true}
	case alerts.StatePending:
		next = toMS(r.Next)
	case alerts.StateFailed:
	default:
		return marquee.Errorf(marquee.EINVALID, "delivery state %q", r.State)
	}
	if _, err := db.exec(ctx, db.write, `UPDATE webhook_deliveries
		SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, delivered_at = ? WHERE id = ?`,
		r.State, r.Attempts, next, r.Error, delivered, id); err != nil {
		return fmt.Errorf("finish delivery: %w", err)
	}
	return nil
}

// PruneDeliveries deletes the webhook deliveries delivered before
// deliveredBefore and the failed ones created before failedBefore; pending
// deliveries are kept. It returns how many it deleted.
func (db *DB) PruneDeliveries(ctx context.Context, deliveredBefore, failedBefore time.Time) (int64, error) {
	res, err := db.exec(ctx, db.write, `DELETE FROM webhook_deliveries
		WHERE (state = 'delivered' AND delivered_at < ?) OR (state = 'failed' AND created_at < ?)`,
		toMS(deliveredBefore), toMS(failedBefore))
	if err != nil {
		return 0, storeError("prune webhook deliveries", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, storeError("prune webhook deliveries", err)
	}
	return n, nil
}
