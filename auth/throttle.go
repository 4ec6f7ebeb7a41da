package auth

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/marquee-signage/marquee"
)

// Login throttling. Two limits apply to every password check (logins and
// password changes), both counting failures only:
//
//   - per account: ThrottleConfig.AccountFailures failures within
//     AccountWindow lock the username for LockoutBase, doubled for each
//     further lockout up to LockoutMax. The counters are kept in the store,
//     so a restart (or another replica) does not reset them. Unknown
//     usernames are counted and locked exactly like real ones, so a lock
//     reveals nothing about which usernames exist. A successful login
//     clears the account's counters.
//   - per client address: IPFailures failures within IPWindow refuse every
//     login from that address (IPv6: its /64) until the window ends. These
//     counters are in memory: they guard against one noisy client, losing
//     them on restart costs an attacker's budget at most one window, and
//     keeping them out of the database means a flood of attempts from many
//     addresses cannot grow a table.
//
// While a limit holds, the password is not even checked: the answer is
// ETOOMANYREQUESTS with a ThrottledError giving how long to wait, the same
// message for either limit.

// ThrottleConfig holds the login limits. Zero fields take the defaults in
// parentheses.
type ThrottleConfig struct {
	// AccountFailures failed logins of one username within AccountWindow
	// lock it (5 in 15 min).
	AccountFailures int
	AccountWindow   time.Duration
	// LockoutBase is the first lock's length; each further lockout
	// without a successful login in between doubles it, up to LockoutMax
	// (5 min, 1 h).
	LockoutBase time.Duration
	LockoutMax  time.Duration
	// IPFailures failed logins from one address within IPWindow refuse
	// that address until the window ends (20 in 15 min).
	IPFailures int
	IPWindow   time.Duration
	// MaxTrackedIPs bounds the in-memory address table (100,000); when
	// full, the address whose window started first is forgotten.
	MaxTrackedIPs int
}

func (c ThrottleConfig) withDefaults() ThrottleConfig {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.AccountFailures, 5)
	defDur(&c.AccountWindow, 15*time.Minute)
	defDur(&c.LockoutBase, 5*time.Minute)
	defDur(&c.LockoutMax, time.Hour)
	def(&c.IPFailures, 20)
	defDur(&c.IPWindow, 15*time.Minute)
	def(&c.MaxTrackedIPs, 100_000)
	if c.LockoutMax < c.LockoutBase {
		c.LockoutMax = c.LockoutBase
	}
	return c
}

// staleThrottleAfter is how long an account's counters outlive its last
// failure (and its lock): then PruneSessions deletes them, and a lockout
// count that old no longer lengthens the next lock.
const staleThrottleAfter = 24 * time.Hour

// msgThrottled is the one answer while either limit holds.
const msgThrottled = "too many failed logins; try again later"

// LoginThrottle is the stored failure count of one account (username).
type LoginThrottle struct {
	// Account is the key: the username as normalised for login.
	Account string
	// Failures counts the failures since WindowStart.
	Failures    int
	WindowStart time.Time
	// LockedUntil is when the current lock ends; zero or past: unlocked.
	LockedUntil time.Time
	// Lockouts counts the locks since the last successful login; each one
	// doubles the next lock's length.
	Lockouts int
	// UpdatedAt is the time of the last failure.
	UpdatedAt time.Time
}

// ThrottledError is the cause of an ETOOMANYREQUESTS error: the client may
// try again after RetryAfter.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("login throttled for %v", e.RetryAfter)
}

func throttled(retryAfter time.Duration) error {
	return marquee.WrapError(marquee.ETOOMANYREQUESTS, &ThrottledError{RetryAfter: retryAfter}, msgThrottled)
}

// checkThrottle returns a throttled error while the account or the address
// is locked, nil otherwise.
func (s *Service) checkThrottle(ctx context.Context, account, ip string) error {
	now := s.now()
	if wait := s.ips.blocked(ip, now); wait > 0 {
		return throttled(wait)
	}
	t, err := s.store.FindLoginThrottle(ctx, account)
	if marquee.ErrorCode(err) == marquee.ENOTFOUND {
		return nil
	} else if err != nil {
		return fmt.Errorf("find login throttle: %w", err)
	}
	if wait := t.LockedUntil.Sub(now); wait > 0 {
		return throttled(wait)
	}
	return nil
}

// recordFailure counts a failed password check against the account and the
// address.
func (s *Service) recordFailure(ctx context.Context, account, ip string) error {
	now := s.now().UTC()
	s.ips.fail(ip, now)
	cfg := s.throttle
	_, err := s.store.UpdateLoginThrottle(ctx, account, func(t *LoginThrottle) {
		if now.Sub(t.UpdatedAt) >= staleThrottleAfter && !t.LockedUntil.After(now) {
			t.Lockouts = 0
		}
		if t.Failures == 0 || now.Sub(t.WindowStart) >= cfg.AccountWindow || !t.LockedUntil.IsZero() && !t.LockedUntil.After(now) {
			// A new window: the old one ran out, or a lock just ended.
			t.Failures, t.WindowStart, t.LockedUntil = 0, now, time.Time{}
		}
		t.Failures++
		t.UpdatedAt = now
		if t.Failures >= cfg.AccountFailures {
			lock := cfg.LockoutBase
			for i := 0; i < t.Lockouts && lock < cfg.LockoutMax; i++ {
				lock *= 2
			}
			t.LockedUntil = now.Add(min(lock, cfg.LockoutMax))
			t.Lockouts++
		}
	})
	if err != nil {
		return fmt.Errorf("record login failure: %w", err)
	}
	return nil
}

// clearFailures forgets the account's failures after a successful login.
func (s *Service) clearFailures(ctx context.Context, account string) error {
	if err := s.store.DeleteLoginThrottle(ctx, account); err != nil {
		return fmt.Errorf("clear login throttle: %w", err)
	}
	return nil
}

// ipLimiter counts failed logins per client address in fixed windows. It is
// safe for concurrent use.
type ipLimiter struct {
	failures int
	window   time.Duration
	max      int

	mu      sync.Mutex
	entries map[netip.Prefix]*ipEntry
}

type ipEntry struct {
	start    time.Time
	failures int
}

func newIPLimiter(cfg ThrottleConfig) *ipLimiter {
	return &ipLimiter{failures: cfg.IPFailures, window: cfg.IPWindow, max: cfg.MaxTrackedIPs,
		entries: make(map[netip.Prefix]*ipEntry)}
}

// ipKey is the address an entry counts: the address itself for IPv4, its
// /64 for IPv6 (one host usually holds a whole /64). ok is false for "" or
// anything unparsable, which is not limited.
func ipKey(ip string) (netip.Prefix, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap().WithZone("")
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, err := a.Prefix(bits)
	return p, err == nil
}

// blocked returns how long ip must still wait, 0 when it may try.
func (l *ipLimiter) blocked(ip string, now time.Time) time.Duration {
	k, ok := ipKey(ip)
	if !ok {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[k]
	if e == nil || e.failures < l.failures {
		return 0
	}
	return max(e.start.Add(l.window).Sub(now), 0)
}

// fail counts one failure from ip.
func (l *ipLimiter) fail(ip string, now time.Time) {
	k, ok := ipKey(ip)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[k]
	if e != nil && now.Sub(e.start) >= l.window {
		e = nil
	}
	if e == nil {
		if len(l.entries) >= l.max {
			l.evict(now)
		}
		e = &ipEntry{start: now}
		l.entries[k] = e
	}
	e.failures++
}

// evict drops the expired entries, or when none has expired the oldest one,
// so that the table stays within max. It runs only when the table is full.
func (l *ipLimiter) evict(now time.Time) {
	var (
		oldest    netip.Prefix
		oldestAt  time.Time
		found     bool
		reclaimed bool
	)
	for k, e := range l.entries {
		if now.Sub(e.start) >= l.window {
			delete(l.entries, k)
			reclaimed = true
			continue
		}
		if !found || e.start.Before(oldestAt) {
			oldest, oldestAt, found = k, e.start, true
		}
	}
	if !reclaimed && found {
		delete(l.entries, oldest)
	}
}
