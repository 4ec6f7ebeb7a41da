package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/marquee-signage/marquee/media"
)

// TestConcurrentWrites hammers the store from many goroutines, writers and
// readers together: on SQLite no write may fail with SQLITE_BUSY.
func TestConcurrentWrites(t *testing.T) {
	const writers, perWriter, readers = 8, 50, 4
	forEachDialect(t, func(t *testing.T, d testDialect) {
		d.skipUnavailable(t)
		db := d.openMigrated(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()

		var rwg sync.WaitGroup
		for range readers {
			rwg.Go(func() {
				for ctx.Err() == nil {
					if _, _, err := db.FindMedia(ctx, media.Filter{Tag: "w0", Limit: 20}); err != nil && ctx.Err() == nil {
						t.Errorf("FindMedia: %v", err)
						return
					}
				}
			})
		}

		var wwg sync.WaitGroup
		for w := range writers {
			wwg.Go(func() {
				for i := range perWriter {
					it := newItem(fmt.Sprintf("w%d-%d", w, i), withTags(fmt.Sprintf("w%d", w), "all"))
					if err := db.CreateMedia(ctx, it); err != nil {
						t.Errorf("CreateMedia(%s): %v", it.Name, err)
						return
					}
					if i%10 == 0 {
						name := it.Name + " (renamed)"
						if _, err := db.UpdateMedia(ctx, it.ID, media.Update{Name: &name}, t0); err != nil {
							t.Errorf("UpdateMedia(%s): %v", it.Name, err)
							return
						}
					}
				}
			})
		}
		wwg.Wait()
		cancel()
		rwg.Wait()

		if got, want := countRows(t, db, "media"), writers*perWriter; got != want {
			t.Fatalf("media rows = %d, want %d", got, want)
		}
		if got, want := countRows(t, db, "media_tags"), 2*writers*perWriter; got != want {
			t.Fatalf("media_tags rows = %d, want %d", got, want)
		}
	})
}
