package sqlstore

import (
	"context"
	"testing"

	"github.com/marquee-signage/marquee/media"
)

// BenchmarkCreateMedia inserts items with two tags each (one transaction per
// item): serially, and from GOMAXPROCS goroutines at once.
func BenchmarkCreateMedia(b *testing.B) {
	for _, d := range testDialects {
		b.Run(d.name, func(b *testing.B) {
			d.skipUnavailable(b)
			db := d.openMigrated(b)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := db.CreateMedia(ctx, newItem("bench", withTags("tết", "campaign"))); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(d.name+"/parallel", func(b *testing.B) {
			d.skipUnavailable(b)
			db := d.openMigrated(b)
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := db.CreateMedia(ctx, newItem("bench", withTags("tết", "campaign"))); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkFindMedia reads a 50-item page with tags from 2,000 items.
func BenchmarkFindMedia(b *testing.B) {
	for _, d := range testDialects {
		b.Run(d.name, func(b *testing.B) {
			d.skipUnavailable(b)
			db := d.openMigrated(b)
			ctx := context.Background()
			for i := range 2000 {
				tags := []string{"all"}
				if i%2 == 0 {
					tags = append(tags, "even")
				}
				if err := db.CreateMedia(ctx, newItem("Chiến dịch", withTags(tags...))); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				items, _, err := db.FindMedia(ctx, media.Filter{Tag: "even"})
				if err != nil || len(items) != 50 {
					b.Fatalf("FindMedia = %d items, %v", len(items), err)
				}
			}
		})
	}
}
