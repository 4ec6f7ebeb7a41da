package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/audit"
	"github.com/marquee-signage/marquee/auth"
)

// AuditLog keeps the audit log (sqlstore implements it). Entries are only
// ever appended: nothing in this package can change or delete one.
type AuditLog interface {
	// AppendAudit stores e, filling in its ID and, when zero, its time.
	AppendAudit(ctx context.Context, e *audit.Entry) error
	// FindAudit returns one page of entries matching f, newest first, and
	// the next cursor ("" on the last page). A malformed cursor is
	// EINVALID.
	FindAudit(ctx context.Context, f audit.Filter) ([]*audit.Entry, string, error)
}

// Bounds of what the audit middleware holds in memory per request.
const (
	// maxAuditRequestBytes is the most of a JSON request body kept for
	// the summary; a larger body is summarised as omitted.
	maxAuditRequestBytes = 256 << 10
	// maxHeldResponseBytes is the most of a response held back until the
	// entry is written; a larger one is sent as it comes, and its entry
	// written after it (without an ID found in its body).
	maxHeldResponseBytes = 1 << 20
	// maxAuditUsername bounds the username a failed login records.
	maxAuditUsername = 64
	// auditTimeout bounds the write of one entry.
	auditTimeout = 10 * time.Second
)

// auditRecorder is the Server's audit state.
type auditRecorder struct {
	log AuditLog // nil: nothing is recorded, GET /api/v1/audit is 503
	// appended and failed count entries stored and entries lost (see
	// record); GET /api/v1/stats reports them.
	appended, failed atomic.Int64
}

// auditStats is what GET /api/v1/stats reports under "audit".
type auditStats struct {
	Appended int64 `json:"appended"`
	Failed   int64 `json:"failed"`
}

func (a *auditRecorder) stats() auditStats {
	return auditStats{Appended: a.appended.Load(), Failed: a.failed.Load()}
}

// ctxAuditChange holds the auditChange a handler set.
const ctxAuditChange = "marquee.audit_change"

// auditChange is an object's state before and after a change.
type auditChange struct{ before, after any }

// setAuditChange gives the audit entry of this request the object's state
// before and after the change (nil for "none": a create has no before, a
// delete no after), instead of the request body. Both are summarised with
// secrets redacted and cut to size, so handlers may pass domain objects as
// they are.
func setAuditChange(c echo.Context, before, after any) {
	c.Set(ctxAuditChange, auditChange{before: before, after: after})
}

// auditSpec is how a route's requests are recorded.
type auditSpec struct {
	objectType string
	action     string
	// idParam: the object ID is the route's :id parameter.
	idParam bool
	// self: the object is the acting user (login, logout).
	self bool
	// login: the login route, recorded on failure too.
	login bool
}

// auditOverrides are the routes whose entry the generic rules of
// auditSpecFor would not describe well, by "METHOD path".
var auditOverrides = map[string]auditSpec{
	http.MethodPost + " " + apiPrefix + "/auth/login":  {objectType: "user", action: audit.ActionLogin, self: true, login: true},
	http.MethodPost + " " + apiPrefix + "/auth/logout": {objectType: "user", action: audit.ActionLogout, self: true},
	// One's own password; the body's passwords are redacted.
	http.MethodPost + " " + apiPrefix + "/auth/password": {objectType: "user", action: "change_password", self: true},
}

// auditVerbs renames the verbs of sub-resource routes (POST
// /displays/:id/token) into actions.
var auditVerbs = map[string]string{
	"token":    "rotate_token",
	"commands": "send_command",
	"password": "reset_password",
}

// auditSpecFor decides whether requests to r are changes to record, and
// how. Changes are the POST, PUT, PATCH and DELETE routes that need a
// permission beyond reading (POST /schedules/check only reads), plus
// login. The object type is the collection's name in the singular; the
// action is create (POST on a collection), update (PUT or PATCH, or POST on
// an object), delete, or the verb that follows the object
// (/schedules/:id/approve → approve).
func auditSpecFor(r route) (auditSpec, bool) {
	switch r.method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return auditSpec{}, false
	}
	if sp, ok := auditOverrides[r.method+" "+r.path]; ok {
		return sp, true
	}
	if r.perm == permPublic || r.perm == auth.PermRead || !strings.HasPrefix(r.path, apiPrefix+"/") {
		return auditSpec{}, false
	}
	segs := strings.Split(strings.TrimPrefix(r.path, apiPrefix+"/"), "/")
	if segs[0] == "auth" && len(segs) > 1 {
		segs = segs[1:] // /auth/tokens: the object is a token
	}
	sp := auditSpec{objectType: singular(segs[0])}
	verb := ""
	for _, s := range segs[1:] {
		if s == ":id" {
			sp.idParam = true
		} else if !strings.HasPrefix(s, ":") {
			verb = s
		}
	}
	switch {
	case verb != "" && r.method == http.MethodPost:
		sp.action = verb
		if a, ok := auditVerbs[verb]; ok {
			sp.action = a
		}
	case verb != "" && r.method == http.MethodDelete:
		sp.action = "delete_" + singular(verb)
	case verb != "":
		sp.action = "update_" + singular(verb)
	case r.method == http.MethodDelete:
		sp.action = audit.ActionDelete
	case r.method == http.MethodPost && !sp.idParam:
		sp.action = audit.ActionCreate
	default:
		sp.action = audit.ActionUpdate
	}
	return sp, true
}

// singular names one of a collection: "displays" → "display".
func singular(collection string) string {
	if collection == "media" {
		return collection
	}
	return strings.TrimSuffix(collection, "s")
}

// withAudit records each successful request to a route described by sp
// (and, for login, each refused one) as one audit entry.
//
// The response is held back (up to maxHeldResponseBytes) until the entry
// is written, so that a client never sees a change the log does not have
// yet, and so that the ID of a created object can be read from the body
// before it goes out. A JSON request body is copied as it is read (up to
// maxAuditRequestBytes) for the summary; other bodies (uploads) are not.
func (s *Server) withAudit(sp auditSpec) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if s.audit.log == nil {
				return next(c)
			}
			req := c.Request()
			var reqBody *teeBody
			if isJSONRequest(req) {
				reqBody = &teeBody{ReadCloser: req.Body, max: maxAuditRequestBytes}
				req.Body = reqBody
			}
			res := c.Response()
			orig := res.Writer
			held := &heldWriter{ResponseWriter: orig, max: maxHeldResponseBytes}
			res.Writer = held
			defer func() {
				// Also on a panic: what the handler wrote goes out.
				if err := held.release(); err != nil {
					s.logger.Debug("write held response", "request_id", requestID(c), "err", err)
				}
				res.Writer = orig
			}()

			err := next(c)
			if e := s.auditEntry(c, sp, err, reqBody, held); e != nil {
				s.record(c, e)
			}
			return err
		}
	}
}

// auditEntry returns the entry of a finished request, or nil when it made
// no change to record.
func (s *Server) auditEntry(c echo.Context, sp auditSpec, err error, reqBody *teeBody, held *heldWriter) *audit.Entry {
	res := c.Response()
	ok := err == nil && res.Committed && res.Status >= 200 && res.Status < 300
	e := &audit.Entry{
		At:         s.now(),
		Action:     sp.action,
		ObjectType: sp.objectType,
		RequestID:  requestID(c),
		RemoteIP:   c.RealIP(),
	}
	switch {
	case ok && sp.login:
		u := currentUser(c)
		if u == nil {
			// The handler did not keep the user: the answer names it.
			var resp struct{ User *auth.User }
			_ = json.Unmarshal(held.body(), &resp)
			u = resp.User
		}
		if u == nil {
			return nil
		}
		e.UserID, e.Username, e.OrgID, e.ObjectID = u.ID, u.Username, u.OrgID, u.ID
		e.Summary = auditSummary(map[string]any{})
		return e
	case sp.login:
		// Only credentials refused are recorded: a malformed request is
		// no attempt, and attempts refused by the login throttle are
		// not written, or one client could grow the log without bound.
		if marquee.ErrorCode(err) != marquee.EUNAUTHORIZED || reqBody == nil {
			return nil
		}
		var cred struct{ Username string }
		if json.Unmarshal(reqBody.body(), &cred) != nil || cred.Username == "" {
			return nil
		}
		// Nobody is authenticated, so the attempt belongs to no one's
		// organisation: the root's readers see it. The password is
		// never read from the body.
		e.Action = audit.ActionLoginFailed
		e.Username = truncateRunes(cred.Username, maxAuditUsername)
		e.OrgID = auth.RootOrgID
		e.Summary = auditSummary(map[string]any{"reason": marquee.ErrorMessage(err)})
		return e
	case !ok:
		return nil
	}

	u := currentUser(c)
	if u == nil {
		return nil // not reachable: audited routes require a user
	}
	e.UserID, e.Username, e.OrgID = u.ID, u.Username, u.OrgID
	summary := map[string]any{}
	change, explicit := c.Get(ctxAuditChange).(auditChange)
	switch {
	case explicit:
		summary["before"], summary["after"] = change.before, change.after
	case reqBody != nil && reqBody.overflow:
		summary["request"] = "omitted: larger than 256 KiB"
	case reqBody != nil && len(reqBody.body()) > 0:
		summary["request"] = json.RawMessage(reqBody.body())
	}
	e.Summary = auditSummary(summary)
	switch {
	case sp.self:
		e.ObjectID = u.ID
	case sp.idParam:
		e.ObjectID = c.Param("id")
	}
	if e.ObjectID == "" && explicit {
		e.ObjectID = jsonID(change.after)
	}
	if e.ObjectID == "" {
		e.ObjectID = jsonID(json.RawMessage(held.body()))
	}
	if e.ObjectID == "" {
		if loc := res.Header().Get(echo.HeaderLocation); loc != "" {
			e.ObjectID = path.Base(loc)
		}
	}
	return e
}

// record appends e. It runs after the change was committed, in its own
// transaction (the services own theirs), so a failure here cannot undo
// the change, and answering 500 would tell the client a committed change
// failed, inviting a retry that repeats it. So a failed append does not
// fail the request: it is logged at ERROR with the whole entry (already
// redacted), so the server log keeps the record, and counted in
// GET /api/v1/stats (audit.failed) for alerting.
//
// The write does not stop when the client goes away: the change happened.
func (s *Server) record(c echo.Context, e *audit.Entry) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), auditTimeout)
	defer cancel()
	if err := s.audit.log.AppendAudit(ctx, e); err != nil {
		s.audit.failed.Add(1)
		entry, _ := json.Marshal(e)
		s.logger.Error("AUDIT ENTRY LOST: change made but not recorded in the audit log",
			"request_id", e.RequestID, "err", err, "entry", string(entry))
		return
	}
	s.audit.appended.Add(1)
}

// jsonID returns the string "id" field of v encoded as JSON, or "".
func jsonID(v any) string {
	b, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return ""
		}
	}
	var obj struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(b, &obj) != nil {
		return ""
	}
	id, _ := obj.ID.(string)
	return id
}

// isJSONRequest reports whether r carries a JSON body.
func isJSONRequest(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	return mt == echo.MIMEApplicationJSON
}

// truncateRunes cuts s to at most n runes of valid UTF-8.
func truncateRunes(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// teeBody copies what is read from a request body, up to max bytes; past
// that it keeps nothing and notes the overflow.
type teeBody struct {
	io.ReadCloser
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 && !b.overflow {
		if b.buf.Len()+n > b.max {
			b.overflow = true
			b.buf = bytes.Buffer{}
		} else {
			b.buf.Write(p[:n])
		}
	}
	return n, err
}

// body is what was read, or nil after an overflow.
func (b *teeBody) body() []byte {
	if b.overflow {
		return nil
	}
	return b.buf.Bytes()
}

// heldWriter holds a response back until release, up to max bytes: past
// that it releases what it holds and passes the rest straight through.
type heldWriter struct {
	http.ResponseWriter
	status   int
	buf      bytes.Buffer
	max      int
	released bool
	overflow bool
}

func (w *heldWriter) WriteHeader(code int) {
	if w.released {
		w.ResponseWriter.WriteHeader(code)
	} else if w.status == 0 {
		w.status = code
	}
}

func (w *heldWriter) Write(p []byte) (int, error) {
	if w.released {
		return w.ResponseWriter.Write(p)
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.buf.Len()+len(p) > w.max {
		w.overflow = true
		if err := w.release(); err != nil {
			return 0, err
		}
		return w.ResponseWriter.Write(p)
	}
	return w.buf.Write(p)
}

// release sends what is held and lets later writes through. It may be
// called more than once.
func (w *heldWriter) release() error {
	if w.released {
		return nil
	}
	w.released = true
	if w.status != 0 {
		w.ResponseWriter.WriteHeader(w.status)
	}
	if w.buf.Len() == 0 {
		return nil
	}
	_, err := w.ResponseWriter.Write(w.buf.Bytes())
	return err
}

// Flush sends what is held and flushes: a handler that flushes wants its
// bytes out now.
func (w *heldWriter) Flush() {
	_ = w.release()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *heldWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// body is the response held, or nil when it outgrew max.
func (w *heldWriter) body() []byte {
	if w.overflow {
		return nil
	}
	return w.buf.Bytes()
}

// redacted replaces the value of every secret-looking field.
const redacted = "[redacted]"

// secretField reports whether a JSON field name looks like it holds a
// secret: passwords, tokens, keys, cookies and the like.
func secretField(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"password", "passwd", "secret", "token", "credential", "authorization", "cookie", "csrf", "api_key", "apikey", "private_key"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return n == "key"
}

// auditSummary encodes summary (whose values are any JSON-encodable
// values, or raw JSON) for an audit entry: every secret-looking field,
// at any depth, is redacted, and the result is shrunk to fit
// audit.MaxSummaryBytes, first by cutting long strings and arrays, then by
// keeping only its size.
func auditSummary(summary map[string]any) json.RawMessage {
	tree, err := jsonTree(summary)
	if err != nil {
		return json.RawMessage(`{"unencodable":true}`)
	}
	tree = redact(tree)
	b, _ := json.Marshal(tree)
	for _, lim := range []struct{ str, arr, depth int }{{256, 20, 8}, {64, 5, 4}} {
		if len(b) <= audit.MaxSummaryBytes {
			return b
		}
		b, _ = json.Marshal(shrink(tree, lim.str, lim.arr, lim.depth))
	}
	if len(b) <= audit.MaxSummaryBytes {
		return b
	}
	b, _ = json.Marshal(map[string]any{"truncated": true, "bytes": len(b)})
	return b
}

// jsonTree turns v into the generic values encoding/json decodes (maps,
// slices, json.Number, strings, bools, nil).
func jsonTree(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	return tree, dec.Decode(&tree)
}

// redact returns tree with the values of secret-looking fields replaced.
func redact(tree any) any {
	switch v := tree.(type) {
	case map[string]any:
		for k, x := range v {
			if secretField(k) && x != nil {
				v[k] = redacted
			} else {
				v[k] = redact(x)
			}
		}
	case []any:
		for i, x := range v {
			v[i] = redact(x)
		}
	}
	return tree
}

// shrink returns a copy of tree with strings cut to str runes, arrays to
// arr elements and objects and arrays below depth replaced by a note.
func shrink(tree any, str, arr, depth int) any {
	switch v := tree.(type) {
	case string:
		if utf8.RuneCountInString(v) > str {
			return string([]rune(v)[:str]) + "…"
		}
		return v
	case map[string]any:
		if depth == 0 {
			return "{…}"
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = shrink(x, str, arr, depth-1)
		}
		return out
	case []any:
		if depth == 0 {
			return "[…]"
		}
		out := make([]any, 0, min(len(v), arr+1))
		for i, x := range v {
			if i == arr {
				out = append(out, "… and more")
				break
			}
			out = append(out, shrink(x, str, arr, depth-1))
		}
		return out
	}
	return tree
}

// handleListAudit: GET /api/v1/audit?user_id=&object_type=&object_id=
// &action=&from=&to=&limit=&cursor= → audit entries of the caller's
// organisation and those below it, newest first.
func (s *Server) handleListAudit(c echo.Context) error {
	if s.audit.log == nil {
		return marquee.Errorf(marquee.EUNAVAILABLE, "the audit log is not available on this server")
	}
	f := audit.Filter{
		UserID:     c.QueryParam("user_id"),
		ObjectType: c.QueryParam("object_type"),
		ObjectID:   c.QueryParam("object_id"),
		Action:     c.QueryParam("action"),
		Cursor:     c.QueryParam("cursor"),
	}
	for name, v := range map[string]string{"user_id": f.UserID, "object_type": f.ObjectType, "object_id": f.ObjectID, "action": f.Action} {
		if len(v) > maxFilterID {
			return marquee.Errorf(marquee.EINVALID, "%s is longer than %d characters", name, maxFilterID)
		}
	}
	var err error
	if f.From, f.To, err = queryRange(c); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(c); err != nil {
		return err
	}
	// A reader sees the entries of their organisation's subtree. The root
	// organisation's subtree is everything, which needs no filter.
	if org := currentUser(c).OrgID; org != auth.RootOrgID {
		f.Within = org
	}
	entries, next, err := s.audit.log.FindAudit(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []*audit.Entry{}
	}
	return c.JSON(http.StatusOK, listResponse[*audit.Entry]{Items: entries, NextCursor: next})
}
