package media

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/marquee-signage/marquee"
)

// Blobs are the original bytes of uploads, stored once per distinct content
// at Dir/blobs/<sha[:2]>/<sha>. Several items may share a blob; it is removed
// when the last of them is deleted. Every file the library writes is created
// in Dir/tmp, synced, and renamed into place, so a reader never sees a
// partial file and a crash leaves debris only in Dir/tmp.

// validSHA256 reports whether s is a lower-case hex SHA-256, so that a value
// from the store can never turn into a path outside the data directory.
func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (l *Library) blobPath(sha string) string {
	return filepath.Join(l.blobDir, sha[:2], sha)
}

// checkSHA returns EINTERNAL for an item whose sha256 is malformed.
func checkSHA(it *Item) error {
	if !validSHA256(it.SHA256) {
		return marquee.Errorf(marquee.EINTERNAL, "media item %s has a malformed checksum", it.ID)
	}
	return nil
}

// storeBlob moves the staged temp file f (at tmp, size bytes) to the blob
// path of sha. When that blob already exists with the same size, the temp
// file is dropped instead: the same bytes are stored once. f is closed and
// tmp gone on return, whatever the outcome.
func (l *Library) storeBlob(f *os.File, tmp, sha string, size int64) error {
	dst := l.blobPath(sha)
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() && st.Size() == size {
		f.Close()
		if err := os.Remove(tmp); err != nil {
			return fmt.Errorf("drop duplicate upload: %w", err)
		}
		return nil
	}
	return commitFile(f, tmp, dst)
}

// commitFile makes the temp file f (at tmp) durable and renames it to dst,
// creating dst's directory. f is closed and tmp gone on return.
func commitFile(f *os.File, tmp, dst string) error {
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.MkdirAll(filepath.Dir(dst), 0o750)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write file: %w", err)
	}
	// Make the rename itself durable; failing that only risks losing a
	// file that can be uploaded or generated again, so it is not an error.
	syncDir(filepath.Dir(dst))
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// removeBlob deletes the blob of sha and all its renditions. Missing files
// are not an error.
func (l *Library) removeBlob(sha string) error {
	var errs []error
	if err := os.Remove(l.blobPath(sha)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	paths, _ := filepath.Glob(filepath.Join(l.renditionDir, sha[:2], sha+"_*"))
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// keyedLocks hands out one RWMutex per key (a sha256), created on demand
// and dropped when unused. Commit and Delete hold the write lock while they
// decide whether a blob lives; rendition generation holds the read lock so
// that a blob and its renditions cannot be removed under it.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	sync.RWMutex
	refs int
}

func (k *keyedLocks) get(key string) *keyedLock {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = make(map[string]*keyedLock)
	}
	lk := k.m[key]
	if lk == nil {
		lk = &keyedLock{}
		k.m[key] = lk
	}
	lk.refs++
	return lk
}

func (k *keyedLocks) put(key string, lk *keyedLock) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if lk.refs--; lk.refs == 0 {
		delete(k.m, key)
	}
}

// lock takes the write lock of key and returns its unlock function.
func (k *keyedLocks) lock(key string) (unlock func()) {
	lk := k.get(key)
	lk.Lock()
	return func() { lk.Unlock(); k.put(key, lk) }
}

// rlock takes the read lock of key and returns its unlock function.
func (k *keyedLocks) rlock(key string) (unlock func()) {
	lk := k.get(key)
	lk.RLock()
	return func() { lk.RUnlock(); k.put(key, lk) }
}
