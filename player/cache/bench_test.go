package cache_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/player/cache"
)

// BenchmarkSync100MB downloads a 100 MB file from a local httptest server
// with Sync (hash, fsync, rename) and, as the baseline in the same run, with
// a plain io.Copy of the HTTP body into a file:
//
//	go test -run '^$' -bench Sync100MB -benchtime 10x ./player/cache/
func BenchmarkSync100MB(b *testing.B) {
	const size = 100 << 20
	content := make([]byte, size)
	rand.NewChaCha8([32]byte{1}).Read(content)
	sum := sha256.Sum256(content)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(content))
	}))
	defer srv.Close()
	asset := marquee.MediaAsset{SHA256: hex.EncodeToString(sum[:]), Size: size, URL: "/clip.mp4"}

	b.Run("cache.Sync", func(b *testing.B) {
		c, err := cache.Open(cache.Config{Dir: b.TempDir(), BaseURL: srv.URL})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(size)
		for b.Loop() {
			if _, err := c.Sync(context.Background(), []marquee.MediaAsset{asset}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if _, err := c.Clear(nil); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("raw io.Copy", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "clip.mp4")
		b.SetBytes(size)
		for b.Loop() {
			resp, err := http.Get(srv.URL + asset.URL)
			if err != nil {
				b.Fatal(err)
			}
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(f, resp.Body); err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			f.Close()
		}
	})
}
