package banner

import (
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestVietnameseCoverage(t *testing.T) {
	// Every precomposed Vietnamese letter, plus đ/Đ and ơ/ư.
	var s []rune
	for r := rune(0x1EA0); r <= 0x1EF9; r++ {
		s = append(s, r)
	}
	s = append(s, []rune("đĐơƠưƯăĂâÂêÊôÔ")...)
	miss, err := Missing(string(s))
	if err != nil {
		t.Fatal(err)
	}
	if len(miss) != 0 {
		t.Fatalf("DejaVu Sans Bold lacks %q", string(miss))
	}
	// Decomposed input is composed before the check.
	if miss, _ := Missing("Ca\u0306n cu\u031b\u0301o\u031bc"); len(miss) != 0 {
		t.Fatalf("decomposed text reported missing %q", string(miss))
	}
	if miss, _ := Missing("中文"); len(miss) == 0 {
		t.Fatal("CJK reported as covered; the coverage check does not work")
	}
}

func TestRenderSizesAndText(t *testing.T) {
	for _, sz := range [][2]int{{192, 96}, {384, 192}, {1536, 256}, {64, 32}} {
		img, err := Render(Spec{Width: sz[0], Height: sz[1], Title: "Căn cước điện tử VNeID",
			Subtitle: "Đăng ký ngay tại công an xã", From: color.NRGBA{200, 16, 46, 255}, To: color.NRGBA{120, 0, 20, 255}})
		if err != nil {
			t.Fatalf("%v: %v", sz, err)
		}
		if got := img.Bounds().Size(); got.X != sz[0] || got.Y != sz[1] {
			t.Fatalf("size %v, want %v", got, sz)
		}
		// Text was drawn: some pixels are near white on the dark red background.
		white := 0
		for i := 0; i < len(img.Pix); i += 4 {
			if img.Pix[i] > 170 && img.Pix[i+1] > 170 && img.Pix[i+2] > 170 {
				white++
			}
		}
		if white < sz[0]*sz[1]/200 {
			t.Fatalf("%v: only %d text pixels", sz, white)
		}
		if testing.Verbose() && sz[0] == 384 {
			f, _ := os.Create(filepath.Join(t.TempDir(), "banner.png"))
			png.Encode(f, img)
			f.Close()
		}
	}
	if _, err := Render(Spec{Width: 100, Height: 50, Title: "中文"}); err == nil {
		t.Fatal("text the font cannot draw was accepted")
	}
	if _, err := Render(Spec{Width: 0, Height: 50, Title: "x"}); err == nil {
		t.Fatal("zero width accepted")
	}
}
