package media

// This file is the only user of github.com/disintegration/imaging (STYLE 15:
// the library is unmaintained, so replacing it must be a local change).
//
// Concurrency: imaging v1.6.2 has no SetMaxProcs; every resize splits its rows
// over runtime.GOMAXPROCS(0) goroutines. We leave that alone rather than
// change GOMAXPROCS, which is process-wide. What needs bounding is memory (a
// decoded 24 MP photo is ~70 MB) and the number of simultaneous decodes, and
// the Library's worker pool (Config.RenditionWorkers) does that: at most that
// many sources are decoded or resized at once. Internal parallelism then only
// shortens one rendition's resize when the pool is not full; when it is full,
// the extra goroutines are cheap and the Go scheduler still runs at most
// GOMAXPROCS of them, so the CPU is not oversubscribed. JPEG decoding, the
// dominant cost, is single-threaded in image/jpeg either way.

import (
	"image"
	"image/color"
	"io"
	"math"

	"github.com/disintegration/imaging"
)

// resample is the filter for every resize: Catmull-Rom is as sharp as
// Lanczos for downscaling photos to panel sizes at two thirds of the cost.
var resample = imaging.CatmullRom

// jpegQuality is the quality of JPEG renditions.
const jpegQuality = 85

// decodeJPEGOriented decodes a JPEG and applies its EXIF orientation.
func decodeJPEGOriented(r io.Reader) (image.Image, error) {
	return imaging.Decode(r, imaging.AutoOrientation(true))
}

// render returns src scaled to exactly w×h pixels according to fit.
func render(src image.Image, w, h int, fit Fit) image.Image {
	switch fit {
	case FitStretch:
		return resize(src, w, h)
	case FitFit:
		return letterbox(src, w, h)
	default:
		return fill(src, w, h)
	}
}

// fill crops src around its centre to the aspect ratio of w×h and scales
// the crop to w×h: imaging.Fill's result, but the crop is a view of the
// decoded image (SubImage) instead of imaging.Crop's full-size NRGBA copy,
// which for a 24 MP photo would be an extra ~80 MB and ~90 ms.
func fill(src image.Image, w, h int) image.Image {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	cw, ch := sw, sh
	if int64(sw)*int64(h) > int64(w)*int64(sh) { // wider than the target: crop the sides
		cw = max(1, int(math.Round(float64(sh)*float64(w)/float64(h))))
	} else {
		ch = max(1, int(math.Round(float64(sw)*float64(h)/float64(w))))
	}
	crop := image.Rect(0, 0, cw, ch).Add(b.Min).Add(image.Pt((sw-cw)/2, (sh-ch)/2))
	if sub, ok := src.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		return resize(sub.SubImage(crop), w, h)
	}
	return resize(imaging.Crop(src, crop), w, h)
}

// resize scales src to exactly w×h. A source more than four times the
// target on an axis is first averaged down (box filter) to twice the
// target, then finished with the resample filter, much as libvips does:
// the result is as sharp, while a direct Catmull-Rom reduction of 6000 px
// to 384 px would weigh 60 source pixels per output pixel. Below that
// factor the extra pass would cost more (time and a large intermediate
// image) than it saves.
func resize(src image.Image, w, h int) image.Image {
	sw, sh := src.Bounds().Dx(), src.Bounds().Dy()
	if sw == w && sh == h {
		return src
	}
	pw, ph := sw, sh
	if sw > 4*w {
		pw = 2 * w
	}
	if sh > 4*h {
		ph = 2 * h
	}
	if pw != sw || ph != sh {
		src = imaging.Resize(src, pw, ph, imaging.Box)
	}
	return imaging.Resize(src, w, h, resample)
}

// letterbox scales src, up or down, to the largest size that fits in w×h
// with its aspect ratio kept, and centres it on an opaque black w×h canvas.
// LED panels need exact sizes, so small sources are upscaled too.
func letterbox(src image.Image, w, h int) image.Image {
	sw, sh := src.Bounds().Dx(), src.Bounds().Dy()
	scale := math.Min(float64(w)/float64(sw), float64(h)/float64(sh))
	nw := min(w, max(1, int(math.Round(float64(sw)*scale))))
	nh := min(h, max(1, int(math.Round(float64(sh)*scale))))
	canvas := imaging.New(w, h, color.NRGBA{A: 0xFF})
	return imaging.PasteCenter(canvas, resize(src, nw, nh))
}

// encodeJPEG writes img as a JPEG of quality jpegQuality.
func encodeJPEG(w io.Writer, img image.Image) error {
	return imaging.Encode(w, img, imaging.JPEG, imaging.JPEGQuality(jpegQuality))
}

// encodePNG writes img as a PNG.
func encodePNG(w io.Writer, img image.Image) error {
	return imaging.Encode(w, img, imaging.PNG)
}
