package marquee

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// crockford is Crockford's base32 alphabet in lower case: IDs sort by
// creation time as plain strings, which keyset pagination relies on.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

var idState struct {
	sync.Mutex
	lastMS uint64
	seq    uint64
}

// NewID returns a new 26-character identifier: 48 bits of milliseconds since
// the Unix epoch followed by 80 random bits, in lower-case Crockford base32
// (the ULID layout). IDs made by one process are strictly increasing, so they
// sort by creation time. A non-empty prefix is prepended as-is.
func NewID(prefix string) string {
	return newIDAt(prefix, time.Now())
}

func newIDAt(prefix string, t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	if _, err := rand.Read(b[6:]); err != nil {
		panic("marquee: crypto/rand failed: " + err.Error())
	}
	idState.Lock()
	if ms <= idState.lastMS {
		// Same or earlier millisecond: keep monotonic by bumping the
		// random part's top 16 bits as a sequence.
		ms = idState.lastMS
		idState.seq++
		binary.BigEndian.PutUint16(b[6:8], uint16(idState.seq))
	} else {
		idState.lastMS = ms
		idState.seq = uint64(binary.BigEndian.Uint16(b[6:8]))
	}
	idState.Unlock()
	b[0] = byte(ms >> 40)
	b[1] = byte(ms >> 32)
	b[2] = byte(ms >> 24)
	b[3] = byte(ms >> 16)
	b[4] = byte(ms >> 8)
	b[5] = byte(ms)

	var sb strings.Builder
	sb.Grow(len(prefix) + 26)
	sb.WriteString(prefix)
	// 128 bits → 26 base32 digits (the first carries 3 bits).
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	sb.Write(out[:])
	return sb.String()
}
