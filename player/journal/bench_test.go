package journal_test

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/player/journal"
)

// BenchmarkAppend compares Append (default options: 1 s group fsync) with a
// raw os.File.Write of the same record bytes, in the same run:
//
//	go test -run '^$' -bench Append -benchtime 200000x ./player/journal/
func BenchmarkAppend(b *testing.B) {
	p := testPlay(1)
	body, _ := json.Marshal(marquee.JournaledPlay{Seq: 123456, Play: p})
	record := fmt.Appendf(nil, "%08x %s\n", crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)), body)

	b.Run("journal.Append", func(b *testing.B) {
		j, err := journal.Open(b.TempDir(), journal.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer j.Close()
		b.SetBytes(int64(len(record)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := j.Append(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("os.File.Write", func(b *testing.B) {
		f, err := os.OpenFile(filepath.Join(b.TempDir(), "raw.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		b.SetBytes(int64(len(record)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := f.Write(record); err != nil {
				b.Fatal(err)
			}
		}
	})
}
