package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// Prepared statements.
//
// Parsing SQL took a quarter of the server's CPU on SQLite when every query
// was prepared anew, so exec, query and queryRow run each query string they
// see often through a *sql.Stmt prepared once per pool and kept in a
// stmtCache. (Only on SQLite: see dialect.cacheStmts for PostgreSQL.)
// database/sql prepares such a statement on each connection that runs it,
// once, and keeps it there; a transaction borrows it with Tx.StmtContext
// (only from the pool it began on, so withTx and withReadTx record that).
//
// Statements are never prepared on a caller's path. A query not cached yet
// runs unprepared, as it always did; the second time, it is handed to a
// goroutine of the cache that prepares it on the pool in the background.
// Preparing in the caller could wait for the connection the caller's own
// transaction holds (SQLite's write pool has exactly one), could lose a
// prepare half done to the caller's context, and would have several
// callers prepare the same query at once; the goroutine works one query at
// a time, with its own context, ended by Close, and a failed prepare caches
// nothing. Statements seen only once (migrations, odd IN-list lengths) are
// never prepared.
//
// The cache is bounded: some SQL is built with a variable number of
// placeholders (IN lists, multi-row INSERTs), and the least recently used
// statement goes when the cache is full. A statement is closed once evicted
// and no caller is using it; rows still open keep what they read from
// alive (database/sql defers the close).
//
// One SQLite statement serves one execution at a time on its connection.
// Inside a transaction — one connection — a query's rows must therefore be
// closed before the same query runs again in it; PostgreSQL already refuses
// a second query while rows are open on the connection, so no code here
// nests queries in a transaction.

const (
	// stmtCacheSize bounds the statements a DB keeps prepared (each is
	// prepared on every connection that has run it).
	stmtCacheSize = 512
	// stmtSeenSize bounds the queries remembered as seen once; the set is
	// emptied when full.
	stmtSeenSize = 4 * stmtCacheSize
	// stmtQueueSize bounds the queries waiting to be prepared; a query
	// missed while the queue is full is queued on a later miss.
	stmtQueueSize = 64
)

// stmtKey names a cached statement: a query as the store wrote it (before
// rebind) on one pool.
type stmtKey struct {
	pool  *sql.DB
	query string
}

// cachedStmt is an entry of a stmtCache. All but key and stmt are guarded
// by the cache's mu.
type cachedStmt struct {
	key  stmtKey
	stmt *sql.Stmt
	// refs counts the callers between acquire and release.
	refs int
	// evicted is set when the entry leaves the cache: stmt is closed when
	// refs falls to 0.
	evicted bool
	// prev and next link the entries from most to least recently used.
	prev, next *cachedStmt
}

// stmtCache keeps the prepared statements of one DB. Its methods are safe
// for concurrent use.
type stmtCache struct {
	d    *dialect
	size int

	// txs maps each open transaction of withTx and withReadTx to the pool
	// it began on.
	txs sync.Map // *sql.Tx → *sql.DB

	// ctx is the background goroutine's, canceled by close; wake signals
	// it work, done is closed when it has returned.
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}
	done   chan struct{}

	mu      sync.Mutex
	closed  bool
	entries map[stmtKey]*cachedStmt
	lru     cachedStmt // sentinel: lru.next is the most recently used
	seen    map[stmtKey]struct{}
	queue   []stmtKey            // to prepare
	queued  map[stmtKey]struct{} // in queue or being prepared
	toClose []*sql.Stmt          // evicted, to close in the background
}

// stmtCacheFor returns a statement cache for a DB of dialect d, or nil
// when d runs its queries unprepared.
func stmtCacheFor(d *dialect) *stmtCache {
	if !d.cacheStmts {
		return nil
	}
	return newStmtCache(d, stmtCacheSize)
}

// newStmtCache returns a cache of at most size statements and starts its
// goroutine; close stops it.
func newStmtCache(d *dialect, size int) *stmtCache {
	ctx, cancel := context.WithCancel(context.Background())
	c := &stmtCache{
		d:       d,
		size:    size,
		ctx:     ctx,
		cancel:  cancel,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		entries: make(map[stmtKey]*cachedStmt),
		seen:    make(map[stmtKey]struct{}),
		queued:  make(map[stmtKey]struct{}),
	}
	c.lru.prev, c.lru.next = &c.lru, &c.lru
	go c.run()
	return c
}

// stmt returns the statement cached for query run through q, in use until
// db.stmts.release(e), and the transaction q is (nil when q is a pool). It
// returns nil when query is to run unprepared: the cache is off, q is not a
// pool of db nor a transaction of withTx or withReadTx, or query is not
// cached (yet).
func (db *DB) stmt(q querier, query string) (e *cachedStmt, tx *sql.Tx) {
	c := db.stmts
	if c == nil {
		return nil, nil
	}
	key := stmtKey{query: query}
	switch q := q.(type) {
	case *sql.DB:
		key.pool = q
	case *sql.Tx:
		pool, ok := c.txs.Load(q)
		if !ok {
			return nil, nil
		}
		key.pool, tx = pool.(*sql.DB), q
	default:
		return nil, nil
	}
	if key.pool != db.write && key.pool != db.read {
		return nil, nil
	}
	if e = c.acquire(key); e == nil {
		c.miss(key)
		return nil, nil
	}
	return e, tx
}

// track records that tx began on pool, until untrack.
func (c *stmtCache) track(tx *sql.Tx, pool *sql.DB) {
	if c != nil {
		c.txs.Store(tx, pool)
	}
}

func (c *stmtCache) untrack(tx *sql.Tx) {
	if c != nil {
		c.txs.Delete(tx)
	}
}

// acquire returns the entry of key, in use until release, or nil.
func (c *stmtCache) acquire(key stmtKey) *cachedStmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		return nil
	}
	e.refs++
	if c.lru.next != e {
		c.unlink(e)
		c.pushFront(e)
	}
	return e
}

// release ends a use of e begun by acquire.
func (c *stmtCache) release(e *cachedStmt) {
	c.mu.Lock()
	e.refs--
	if e.refs > 0 || !e.evicted {
		c.mu.Unlock()
		return
	}
	if c.closed {
		// The goroutine is gone or going: close here.
		c.mu.Unlock()
		_ = e.stmt.Close()
		return
	}
	c.toClose = append(c.toClose, e.stmt)
	c.mu.Unlock()
	c.signal()
}

// miss notes that key ran unprepared; the second time, key is queued for
// preparing.
func (c *stmtCache) miss(key stmtKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.entries[key] != nil {
		return
	}
	if _, ok := c.queued[key]; ok {
		return
	}
	if _, ok := c.seen[key]; !ok {
		if len(c.seen) >= stmtSeenSize {
			clear(c.seen)
		}
		c.seen[key] = struct{}{}
		return
	}
	if len(c.queued) >= stmtQueueSize {
		return
	}
	delete(c.seen, key)
	c.queued[key] = struct{}{}
	c.queue = append(c.queue, key)
	c.signal()
}

func (c *stmtCache) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// run closes evicted statements and prepares queued queries until close.
func (c *stmtCache) run() {
	defer close(c.done)
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.wake:
		}
		c.mu.Lock()
		toClose, queue := c.toClose, c.queue
		c.toClose, c.queue = nil, nil
		c.mu.Unlock()
		for _, s := range toClose {
			_ = s.Close()
		}
		for _, key := range queue {
			c.prepare(key)
		}
	}
}

// prepare prepares key's query on its pool and caches it, evicting the
// least recently used statements beyond size. On failure (canceled by
// close, or an error the query also gets when run unprepared) nothing is
// cached: a later miss queues it again.
func (c *stmtCache) prepare(key stmtKey) {
	s, err := key.pool.PrepareContext(c.ctx, c.d.rebind(key.query))
	c.mu.Lock()
	delete(c.queued, key)
	if err != nil {
		c.mu.Unlock()
		return
	}
	if c.closed || c.entries[key] != nil {
		// Closing (close closes what is cached once this goroutine has
		// returned), or cached by another way meanwhile: only one stays.
		c.mu.Unlock()
		_ = s.Close()
		return
	}
	e := &cachedStmt{key: key, stmt: s}
	c.entries[key] = e
	c.pushFront(e)
	var evicted []*sql.Stmt
	for len(c.entries) > c.size {
		old := c.lru.prev
		c.unlink(old)
		delete(c.entries, old.key)
		old.evicted = true
		if old.refs == 0 {
			evicted = append(evicted, old.stmt)
		}
	}
	c.mu.Unlock()
	for _, s := range evicted {
		_ = s.Close()
	}
}

// close stops the goroutine and closes every statement; one in use is
// closed by its last release. The cache stays usable: everything misses.
func (c *stmtCache) close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	<-c.done

	c.mu.Lock()
	stmts := c.toClose
	for e := c.lru.next; e != &c.lru; e = e.next {
		e.evicted = true
		if e.refs == 0 {
			stmts = append(stmts, e.stmt)
		}
	}
	c.lru.prev, c.lru.next = &c.lru, &c.lru
	c.entries, c.seen, c.queued, c.queue, c.toClose = nil, nil, nil, nil, nil
	c.mu.Unlock()

	var errs []error
	for _, s := range stmts {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// len returns the number of cached statements.
func (c *stmtCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *stmtCache) pushFront(e *cachedStmt) {
	e.prev, e.next = &c.lru, c.lru.next
	e.prev.next, e.next.prev = e, e
}

func (c *stmtCache) unlink(e *cachedStmt) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}
