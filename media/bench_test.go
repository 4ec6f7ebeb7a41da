package media_test

// Benchmarks for docs/performance.md. Run, for example:
//
//	go test -run '^$' -bench . -benchtime 3x ./media/
//
// bench inputs are generated once and cached in os.TempDir():
// marquee-bench-24mp.jpg (6000×4000, photo-like) and marquee-bench-200mb.mp4.
//
// This file, not the package, imports imaging directly: the raw-imaging
// baseline is by definition the library used on its own.

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disintegration/imaging"

	"github.com/marquee-signage/marquee/media"
)

var benchSizes = []image.Point{{1920, 1080}, {384, 192}}

// benchFile returns the path of a cached input in os.TempDir(), creating it
// with create the first time.
func benchFile(b *testing.B, name string, create func(path string) error) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), name)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".part"
	if err := create(tmp); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

// photo24MP writes a 6000×4000 JPEG (quality 90) of smooth gradients,
// soft shapes and sensor-like noise, which compresses like a photograph
// (several MB) rather than like a flat test card.
func photo24MP(path string) error {
	const w, h = 6000, 4000
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	seed := uint32(2463534242)
	rnd := func() int {
		seed ^= seed << 13
		seed ^= seed >> 17
		seed ^= seed << 5
		return int(seed&31) - 16
	}
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/w, float64(y)/h
			v := 128 + 60*math.Sin(fx*7+fy*3) + 30*math.Cos(fy*11-fx*5) + 20*math.Sin(math.Hypot(fx-.6, fy-.4)*40)
			img.Y[y*img.YStride+x] = clamp8(int(v) + rnd())
		}
	}
	for y := range h / 2 {
		for x := range w / 2 {
			fx, fy := float64(x)/w*2, float64(y)/h*2
			img.Cb[y*img.CStride+x] = clamp8(128 + int(40*math.Sin(fx*4)) + rnd()/4)
			img.Cr[y*img.CStride+x] = clamp8(128 + int(40*math.Cos(fy*5+fx)) + rnd()/4)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 90}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func clamp8(v int) uint8 { return uint8(min(255, max(0, v))) }

// peakHeapMB runs fn once and returns the peak growth of live heap objects
// during it, in MB, sampled every 200 µs.
func peakHeapMB(fn func()) float64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	runtime.GC()
	base := read()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			if v := read(); v > peak {
				peak = v
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	fn()
	close(stop)
	wg.Wait()
	if peak < base {
		return 0
	}
	return float64(peak-base) / (1 << 20)
}

func BenchmarkRendition(b *testing.B) {
	src := benchFile(b, "marquee-bench-24mp.jpg", photo24MP)
	data, err := os.ReadFile(src)
	if err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, media.Config{})
	it := e.mustUpload(b, data, "24mp")
	ctx := context.Background()

	for _, s := range benchSizes {
		b.Run(fmt.Sprintf("ours/%dx%d", s.X, s.Y), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.lib.RenditionUncached(ctx, it.ID, s.X, s.Y, media.FitFill); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(peakHeapMB(func() { e.lib.RenditionUncached(ctx, it.ID, s.X, s.Y, media.FitFill) }), "peak-heap-MB")
		})
	}
	for _, s := range benchSizes {
		b.Run(fmt.Sprintf("raw-imaging/%dx%d", s.X, s.Y), func(b *testing.B) {
			b.ReportAllocs()
			var buf bytes.Buffer
			raw := func() {
				img, err := imaging.Open(src)
				if err != nil {
					b.Fatal(err)
				}
				// Same filter as the library, so the difference is the pipeline.
				out := imaging.Fill(img, s.X, s.Y, imaging.Center, imaging.CatmullRom)
				buf.Reset()
				if err := imaging.Encode(&buf, out, imaging.JPEG, imaging.JPEGQuality(85)); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				raw()
			}
			b.StopTimer()
			b.ReportMetric(peakHeapMB(raw), "peak-heap-MB")
		})
	}
	for _, s := range benchSizes {
		b.Run(fmt.Sprintf("vipsthumbnail/%dx%d", s.X, s.Y), func(b *testing.B) {
			vips, err := exec.LookPath("vipsthumbnail")
			if err != nil {
				b.Skip("vipsthumbnail not installed")
			}
			out := filepath.Join(b.TempDir(), "out.jpg")
			args := []string{src, "--size", fmt.Sprintf("%dx%d", s.X, s.Y), "--smartcrop", "centre", "-o", out + "[Q=85]"}
			for b.Loop() {
				if msg, err := exec.Command(vips, args...).CombinedOutput(); err != nil {
					b.Fatalf("vipsthumbnail: %v: %s", err, msg)
				}
			}
			b.StopTimer()
			if mb, ok := maxRSSMB(vips, args...); ok {
				b.ReportMetric(mb, "peak-rss-MB")
			}
		})
	}
}

// maxRSSMB runs a command under GNU time and returns its peak resident set
// in MB. (The rusage Go gets for a child it starts itself counts the Go
// process's own RSS: the child begins life sharing its address space.)
func maxRSSMB(name string, args ...string) (float64, bool) {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return 0, false
	}
	var stderr bytes.Buffer
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", name}, args...)...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return 0, false
	}
	lines := strings.Fields(stderr.String())
	if len(lines) == 0 {
		return 0, false
	}
	kb, err := strconv.Atoi(lines[len(lines)-1])
	if err != nil {
		return 0, false
	}
	return float64(kb) / 1024, true
}

const bigVideoBytes = 200 << 20

func bigVideo(b *testing.B) (string, int64) {
	path := benchFile(b, "marquee-bench-200mb.mp4", func(p string) error { return media.WriteBigMP4(p, bigVideoBytes) })
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, st.Size()
}

// BenchmarkUpload200MB stages and commits a 200 MB video (sniff, SHA-256,
// size limit, MP4 probe, fsync, rename, insert); each item is deleted again
// outside the timer so every iteration writes a new blob.
func BenchmarkUpload200MB(b *testing.B) {
	src, size := bigVideo(b)
	e := newEnv(b, media.Config{FFprobePath: "-"})
	ctx := context.Background()
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		it, err := e.lib.Upload(ctx, f, meta("big"))
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := e.lib.Delete(ctx, it.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkRawDiskCopy200MB is the floor for BenchmarkUpload200MB: io.Copy
// of the same file to a new file on the same disk, then fsync.
func BenchmarkRawDiskCopy200MB(b *testing.B) {
	src, size := bigVideo(b)
	dir := b.TempDir()
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		in, err := os.Open(src)
		if err != nil {
			b.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dir, "copy"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			b.Fatal(err)
		}
		if err := out.Sync(); err != nil {
			b.Fatal(err)
		}
		out.Close()
		in.Close()
		b.StopTimer()
		os.Remove(out.Name())
		b.StartTimer()
	}
}
