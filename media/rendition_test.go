package media_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/media"
)

// Source for the layout tests: 200×100, four 50 px stripes
// green | red | blue | yellow.
func stripeSource(t *testing.T, e *testEnv) *media.Item {
	return e.mustUpload(t, pngBytes(t, stripes(200, 100, green, red, blue, yellow)), "stripes")
}

func TestRenditionFitLayouts(t *testing.T) {
	e := newEnv(t, media.Config{})
	it := stripeSource(t, e)
	tests := []struct {
		fit  media.Fit
		want map[image.Point]color.NRGBA
	}{
		// Fill crops the centre 100×100 (red | blue) and scales it 1:1.
		{media.FitFill, map[image.Point]color.NRGBA{
			{2, 50}: red, {40, 5}: red, {60, 95}: blue, {97, 50}: blue}},
		// Fit scales to 100×50 and letterboxes on black above and below.
		{media.FitFit, map[image.Point]color.NRGBA{
			{50, 5}: black, {50, 94}: black, {10, 50}: green, {37, 50}: red, {62, 50}: blue, {90, 50}: yellow}},
		// Stretch squeezes all four stripes into 100×100.
		{media.FitStretch, map[image.Point]color.NRGBA{
			{10, 2}: green, {37, 50}: red, {62, 50}: blue, {90, 97}: yellow}},
	}
	for _, tt := range tests {
		t.Run(string(tt.fit), func(t *testing.T) {
			r, err := e.lib.Rendition(context.Background(), it.ID, 100, 100, tt.fit)
			if err != nil {
				t.Fatal(err)
			}
			if r.MIME != "image/jpeg" || r.Width != 100 || r.Height != 100 {
				t.Fatalf("rendition = %+v", r)
			}
			img := decodeFile(t, r.Path)
			if b := img.Bounds(); b.Dx() != 100 || b.Dy() != 100 {
				t.Fatalf("decoded size %v", b)
			}
			checkPixels(t, img, tt.want)
		})
	}
}

// Every fit gives exactly the requested size, up or down, whatever the
// aspect ratio.
func TestRenditionExactSizes(t *testing.T) {
	e := newEnv(t, media.Config{})
	it := stripeSource(t, e)
	sizes := []image.Point{{1, 1}, {7, 300}, {192, 96}, {384, 192}, {1536, 256}, {99, 100}}
	for _, fit := range []media.Fit{media.FitFill, media.FitFit, media.FitStretch} {
		for _, s := range sizes {
			r, err := e.lib.Rendition(context.Background(), it.ID, s.X, s.Y, fit)
			if err != nil {
				t.Fatalf("%s %v: %v", fit, s, err)
			}
			if b := decodeFile(t, r.Path).Bounds(); b.Dx() != s.X || b.Dy() != s.Y {
				t.Errorf("%s %v: got %v", fit, s, b.Size())
			}
		}
	}
}

func TestRenditionAlphaIsPNG(t *testing.T) {
	e := newEnv(t, media.Config{})
	src := stripes(100, 100, color.NRGBA{}, red) // transparent | red
	it := e.mustUpload(t, pngBytes(t, src), "alpha")

	r, err := e.lib.Rendition(context.Background(), it.ID, 50, 50, media.FitFill)
	if err != nil {
		t.Fatal(err)
	}
	if r.MIME != "image/png" || filepath.Ext(r.Path) != ".png" {
		t.Fatalf("rendition = %+v, want a PNG", r)
	}
	checkPixels(t, decodeFile(t, r.Path), map[image.Point]color.NRGBA{{10, 25}: {}, {40, 25}: red})

	// Letterbox bars are opaque black even on a transparent source.
	r, err = e.lib.Rendition(context.Background(), it.ID, 100, 50, media.FitFit)
	if err != nil {
		t.Fatal(err)
	}
	checkPixels(t, decodeFile(t, r.Path), map[image.Point]color.NRGBA{
		{5, 25}: black, {30, 25}: {}, {60, 25}: red, {95, 25}: black})

	// An opaque PNG source makes JPEG renditions.
	opaque := e.mustUpload(t, pngBytes(t, stripes(10, 10, red)), "opaque")
	r, err = e.lib.Rendition(context.Background(), opaque.ID, 5, 5, media.FitFill)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(r.Path); r.MIME != "image/jpeg" || !bytes.HasPrefix(b, []byte{0xFF, 0xD8}) {
		t.Fatalf("opaque source: rendition %+v", r)
	}
}

// A JPEG with EXIF Orientation 6 (rotate 90° clockwise to display) stored
// as 40×20 red | blue displays as 20×40 red over blue.
func TestRenditionEXIFOrientation(t *testing.T) {
	e := newEnv(t, media.Config{})
	jpg := withEXIFOrientation(jpegBytes(t, stripes(40, 20, red, blue)), 6)
	it := e.mustUpload(t, jpg, "rotated")
	if it.Width != 20 || it.Height != 40 {
		t.Fatalf("item size %d×%d, want 20×40 (as displayed)", it.Width, it.Height)
	}
	r, err := e.lib.Rendition(context.Background(), it.ID, 20, 40, media.FitStretch)
	if err != nil {
		t.Fatal(err)
	}
	checkPixels(t, decodeFile(t, r.Path), map[image.Point]color.NRGBA{
		{10, 5}: red, {2, 15}: red, {10, 35}: blue, {17, 25}: blue})

	// Fill to a landscape panel crops the middle: the red/blue boundary
	// runs horizontally through it.
	r, err = e.lib.Rendition(context.Background(), it.ID, 40, 20, media.FitFill)
	if err != nil {
		t.Fatal(err)
	}
	checkPixels(t, decodeFile(t, r.Path), map[image.Point]color.NRGBA{{20, 2}: red, {20, 17}: blue})
}

func TestRenditionGIFFirstFrame(t *testing.T) {
	e := newEnv(t, media.Config{})
	frame := func(c color.Color) *image.Paletted {
		p := image.NewPaletted(image.Rect(0, 0, 16, 16), color.Palette{red, blue})
		for i := range p.Pix {
			if c == blue {
				p.Pix[i] = 1
			}
		}
		return p
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{frame(red), frame(blue)}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	it := e.mustUpload(t, buf.Bytes(), "animated")
	r, err := e.lib.Rendition(context.Background(), it.ID, 8, 8, media.FitFill)
	if err != nil {
		t.Fatal(err)
	}
	checkPixels(t, decodeFile(t, r.Path), map[image.Point]color.NRGBA{{4, 4}: red})
}

func TestRenditionCacheAndETag(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, media.Config{})
	it := stripeSource(t, e)
	r1, err := e.lib.Rendition(ctx, it.ID, 64, 32, media.FitFill)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(e.dir, "renditions", it.SHA256[:2], it.SHA256+"_64x32_fill.jpg")
	if r1.Path != want {
		t.Fatalf("path = %s, want %s", r1.Path, want)
	}
	r2, err := e.lib.Rendition(ctx, it.ID, 64, 32, "")
	if err != nil {
		t.Fatal(err)
	}
	if r2 != r1 || e.lib.Generations() != 1 {
		t.Fatalf("second request: %+v, %d generations", r2, e.lib.Generations())
	}
	r3, err := e.lib.Rendition(ctx, it.ID, 64, 32, media.FitStretch)
	if err != nil {
		t.Fatal(err)
	}
	if r3.ETag == r1.ETag || r3.Path == r1.Path {
		t.Fatal("different fits share an ETag or path")
	}
	if len(e.files(t, "tmp")) != 0 {
		t.Fatal("temp files left behind")
	}
}

// 16 identical concurrent requests generate once.
func TestRenditionConcurrentGeneratesOnce(t *testing.T) {
	e := newEnv(t, media.Config{RenditionWorkers: 4})
	it := stripeSource(t, e)
	e.lib.SetGenerateHook(func() { time.Sleep(50 * time.Millisecond) }) // widen the window
	var wg sync.WaitGroup
	results := make([]media.Rendition, 16)
	errs := make([]error, 16)
	for i := range 16 {
		wg.Go(func() {
			results[i], errs[i] = e.lib.Rendition(context.Background(), it.ID, 96, 48, media.FitFit)
		})
	}
	wg.Wait()
	for i := range 16 {
		if errs[i] != nil || results[i] != results[0] {
			t.Fatalf("request %d: %+v, %v; first %+v", i, results[i], errs[i], results[0])
		}
	}
	if n := e.lib.Generations(); n != 1 {
		t.Fatalf("%d generations, want 1", n)
	}
}

// A caller that gives up does not cancel the generation others wait for.
func TestRenditionCallerCancel(t *testing.T) {
	e := newEnv(t, media.Config{})
	it := stripeSource(t, e)
	release := make(chan struct{})
	e.lib.SetGenerateHook(func() { <-release })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := e.lib.Rendition(ctx, it.ID, 32, 32, media.FitFill)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	done := make(chan error)
	go func() {
		_, err := e.lib.Rendition(context.Background(), it.ID, 32, 32, media.FitFill)
		done <- err
	}()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := e.lib.Generations(); n != 1 {
		t.Fatalf("%d generations, want 1", n)
	}
}

func TestRenditionInvalid(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, media.Config{MaxRenditionSide: 1000})
	it := stripeSource(t, e)
	for _, s := range []image.Point{{0, 10}, {10, 0}, {-1, 10}, {1001, 10}, {10, 1001}} {
		_, err := e.lib.Rendition(ctx, it.ID, s.X, s.Y, media.FitFill)
		wantCode(t, err, marquee.EINVALID)
	}
	_, err := e.lib.Rendition(ctx, it.ID, 10, 10, "squash")
	wantCode(t, err, marquee.EINVALID)
	_, err = e.lib.Rendition(ctx, "med_nope", 10, 10, media.FitFill)
	wantCode(t, err, marquee.ENOTFOUND)
	if _, err := e.lib.Rendition(ctx, it.ID, 1000, 1000, media.FitFit); err != nil {
		t.Fatalf("largest size: %v", err)
	}
}

func TestParseFit(t *testing.T) {
	for in, want := range map[string]media.Fit{"": media.FitFill, "fill": media.FitFill, " Fit ": media.FitFit, "STRETCH": media.FitStretch} {
		if got, err := media.ParseFit(in); err != nil || got != want {
			t.Errorf("ParseFit(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := media.ParseFit("cover")
	wantCode(t, err, marquee.EINVALID)
}

func TestVideoRenditionWithoutFFmpeg(t *testing.T) {
	e := newEnv(t, media.Config{FFprobePath: "-", FFmpegPath: "-"})
	data, err := os.ReadFile("testdata/clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	it := e.mustUpload(t, data, "clip")
	_, err = e.lib.Thumbnail(context.Background(), it.ID)
	wantCode(t, err, marquee.EUNSUPPORTED)
	if got, want := marquee.ErrorMessage(err), "video renditions need ffmpeg on the server"; got != want {
		t.Fatalf("message = %q, want %q", got, want)
	}
}

func TestVideoRenditionWithFFmpeg(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	e := newEnv(t, media.Config{})
	for _, name := range []string{"clip.mp4", "clip.webm"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		it := e.mustUpload(t, data, name)
		r, err := e.lib.Thumbnail(context.Background(), it.ID)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		img := decodeFile(t, r.Path)
		if r.MIME != "image/jpeg" || img.Bounds().Dx() != 320 || img.Bounds().Dy() != 180 {
			t.Fatalf("%s: rendition %+v, size %v", name, r, img.Bounds())
		}
		// 64×32 letterboxed into 320×180: 320×160 with 10 px black bars.
		checkPixels(t, img, map[image.Point]color.NRGBA{{160, 3}: black, {160, 176}: black})
	}
	if tmp := e.files(t, "tmp"); len(tmp) != 0 {
		t.Fatalf("tmp = %v", tmp)
	}
}

// Close waits for a rendition in flight, up to its deadline; afterwards the
// library refuses new work.
func TestCloseWaitsForRenditions(t *testing.T) {
	e := newEnv(t, media.Config{})
	it := stripeSource(t, e)
	entered, release := make(chan struct{}), make(chan struct{})
	e.lib.SetGenerateHook(func() { close(entered); <-release })
	result := make(chan error, 1)
	go func() {
		_, err := e.lib.Rendition(context.Background(), it.ID, 40, 40, media.FitFill)
		result <- err
	}()
	<-entered

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := e.lib.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a rendition in flight = %v, want DeadlineExceeded", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- e.lib.Close(context.Background()) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v before the rendition finished", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := <-result; err != nil {
		t.Fatalf("rendition in flight: %v", err)
	}

	_, err := e.lib.Rendition(context.Background(), it.ID, 41, 41, media.FitFill)
	wantCode(t, err, marquee.EUNAVAILABLE)
	_, err = e.lib.Stage(context.Background(), bytes.NewReader([]byte("x")))
	wantCode(t, err, marquee.EUNAVAILABLE)
	// A cached rendition is still served: it needs no work.
	if _, err := e.lib.Rendition(context.Background(), it.ID, 40, 40, media.FitFill); err != nil {
		t.Fatalf("cached rendition after Close: %v", err)
	}
}

// A new Library on the same Dir serves renditions from the disk cache.
func TestRenditionCacheSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, media.Config{})
	it := stripeSource(t, e)
	r1, err := e.lib.Rendition(ctx, it.ID, 30, 30, media.FitFit)
	if err != nil {
		t.Fatal(err)
	}
	lib2, err := media.NewLibrary(e.db, media.Config{Dir: e.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer lib2.Close(ctx)
	r2, err := lib2.Rendition(ctx, it.ID, 30, 30, media.FitFit)
	if err != nil {
		t.Fatal(err)
	}
	if r2 != r1 || lib2.Generations() != 0 {
		t.Fatalf("after restart: %+v (%d generations), want %+v from cache", r2, lib2.Generations(), r1)
	}
}

func ExampleParseFit() {
	fit, _ := media.ParseFit("")
	fmt.Println(fit)
	// Output: fill
}
