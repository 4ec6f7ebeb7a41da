package mqtt

import (
	"sync"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// resumeStore is paho's memory store, counting the moments paho takes
// stock of it after a connection is made: resume() lists the stored packets
// (All) to re-send them, or, on a first clean-session connection, the store
// is wiped (Reset). paho calls OnConnect before that, so a packet published
// from OnConnect can be caught in resume's list: re-sent twice and its DUP
// flag written while the network writer reads it (a data race, paho issue
// #703). The client therefore reports itself connected only once the count
// has moved past the value it had when the attempt began.
type resumeStore struct {
	paho.Store

	mu    sync.Mutex
	n     uint64
	moved chan struct{} // closed and replaced whenever n grows
}

func newResumeStore() *resumeStore {
	return &resumeStore{Store: paho.NewMemoryStore(), moved: make(chan struct{})}
}

func (s *resumeStore) All() []string {
	keys := s.Store.All()
	s.bump()
	return keys
}

func (s *resumeStore) Reset() {
	s.Store.Reset()
	s.bump()
}

func (s *resumeStore) bump() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	close(s.moved)
	s.moved = make(chan struct{})
}

// state returns the count and a channel closed when it next grows.
func (s *resumeStore) state() (uint64, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.moved
}
