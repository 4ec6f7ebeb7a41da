// Package banner draws simple text banners at exact LED panel sizes: a
// gradient background with a headline and a subline, in DejaVu Sans Bold,
// which covers Vietnamese (U+1EA0–U+1EF9). The demo uses it to make sample
// content; it is a server-side package (the player never links fonts).
package banner

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"strings"
	"sync"

	"github.com/go-fonts/dejavu/dejavusansbold"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/unicode/norm"
)

// Spec describes one banner.
type Spec struct {
	Width, Height int
	Title         string // headline, shrunk to fit one line
	Subtitle      string // optional second line, smaller
	From, To      color.NRGBA
	Text          color.NRGBA // zero: white
}

var (
	parseOnce sync.Once
	parsed    *opentype.Font
	parseErr  error
)

func fontFace(size float64) (font.Face, error) {
	parseOnce.Do(func() { parsed, parseErr = opentype.Parse(dejavusansbold.TTF) })
	if parseErr != nil {
		return nil, fmt.Errorf("parse font: %w", parseErr)
	}
	return opentype.NewFace(parsed, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
}

// Missing returns the runes of s (after NFC composition) that the font has
// no glyph for; they would otherwise be drawn silently as boxes.
func Missing(s string) ([]rune, error) {
	face, err := fontFace(12)
	if err != nil {
		return nil, err
	}
	defer face.Close()
	var miss []rune
	for _, r := range norm.NFC.String(s) {
		if r == ' ' || r == '\n' {
			continue
		}
		if _, ok := face.GlyphAdvance(r); !ok {
			miss = append(miss, r)
		}
	}
	return miss, nil
}

// Render draws the banner. Text is NFC-composed first (x/image/font does no
// mark positioning) and checked for glyph coverage.
func Render(s Spec) (*image.NRGBA, error) {
	if s.Width < 8 || s.Height < 8 || s.Width > 16384 || s.Height > 16384 {
		return nil, fmt.Errorf("banner size %dx%d out of range", s.Width, s.Height)
	}
	title, sub := norm.NFC.String(strings.TrimSpace(s.Title)), norm.NFC.String(strings.TrimSpace(s.Subtitle))
	if miss, err := Missing(title + sub); err != nil {
		return nil, err
	} else if len(miss) > 0 {
		return nil, fmt.Errorf("font has no glyph for %q", string(miss))
	}
	img := image.NewNRGBA(image.Rect(0, 0, s.Width, s.Height))
	gradient(img, s.From, s.To)
	text := s.Text
	if text == (color.NRGBA{}) {
		text = color.NRGBA{255, 255, 255, 255}
	}
	titleBox, subBox := s.Height, 0
	if sub != "" {
		titleBox, subBox = s.Height*62/100, s.Height*38/100
	}
	margin := max(2, s.Width/40)
	if err := drawLine(img, title, text, margin, 0, titleBox, 0.72); err != nil {
		return nil, err
	}
	if sub != "" {
		if err := drawLine(img, sub, text, margin, titleBox, subBox, 0.55); err != nil {
			return nil, err
		}
	}
	return img, nil
}

func gradient(img *image.NRGBA, from, to color.NRGBA) {
	b := img.Bounds()
	w := max(1, b.Dx()-1)
	for x := 0; x < b.Dx(); x++ {
		c := color.NRGBA{
			R: lerp(from.R, to.R, x, w), G: lerp(from.G, to.G, x, w),
			B: lerp(from.B, to.B, x, w), A: 255,
		}
		for y := 0; y < b.Dy(); y++ {
			img.SetNRGBA(x, y, c)
		}
	}
}

func lerp(a, b uint8, i, n int) uint8 { return uint8(int(a) + (int(b)-int(a))*i/n) }

// drawLine draws s centred in the band [top, top+height), with the largest
// font size (up to fill × height) whose advance fits the width.
func drawLine(img *image.NRGBA, s string, c color.NRGBA, margin, top, height int, fill float64) error {
	if s == "" || height <= 0 {
		return nil
	}
	avail := img.Bounds().Dx() - 2*margin
	size := float64(height) * fill
	var face font.Face
	var err error
	for ; size >= 4; size *= 0.9 {
		if face != nil {
			face.Close()
		}
		if face, err = fontFace(size); err != nil {
			return err
		}
		if font.MeasureString(face, s).Ceil() <= avail {
			break
		}
	}
	defer face.Close()
	m := face.Metrics()
	adv := font.MeasureString(face, s)
	x := (fixed.I(img.Bounds().Dx()) - adv) / 2
	textH := m.Ascent + m.Descent
	y := fixed.I(top) + (fixed.I(height)-textH)/2 + m.Ascent
	d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.Point26_6{X: x, Y: y}}
	d.DrawString(s)
	return nil
}

// Draw is a convenience for callers holding a draw.Image.
func Draw(dst draw.Image, s Spec) error {
	img, err := Render(s)
	if err != nil {
		return err
	}
	draw.Draw(dst, dst.Bounds(), img, image.Point{}, draw.Src)
	return nil
}
