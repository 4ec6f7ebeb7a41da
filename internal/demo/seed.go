// Package demo seeds a Marquee installation with sample content for
// `marquee demo`: Vietnamese public-service banners generated at LED sizes, a
// short clip, three displays of different sizes, playlists and schedules on
// several priority layers. Seeding is idempotent: it does nothing when
// displays already exist.
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"image/color"
	"image/png"
	"time"

	"github.com/marquee-signage/marquee"
	"github.com/marquee-signage/marquee/displays"
	"github.com/marquee-signage/marquee/internal/banner"
	"github.com/marquee-signage/marquee/media"
	"github.com/marquee-signage/marquee/playlists"
	"github.com/marquee-signage/marquee/schedules"
)

// clip is a 6-second 384×192 H.264 test pattern made with
// `ffmpeg -f lavfi -i testsrc2=size=384x192:rate=25 -t 6 -c:v libx264 -preset veryslow -crf 34 -pix_fmt yuv420p -movflags +faststart -an clip.mp4`.
//
//go:embed clip.mp4
var clip []byte

// Services are the domain services the seeder uses.
type Services struct {
	Library   *media.Library
	Playlists *playlists.Service
	Displays  *displays.Service
	Schedules *schedules.Service
	OrgID     string
	UserID    string
}

// Display is a seeded display and its current token.
type Display struct {
	ID, Name      string
	Width, Height int
	Token         string
}

type bannerSpec struct {
	name, title, subtitle string
	from, to              color.NRGBA
	tags                  []string
}

var banners = []bannerSpec{
	{"VNeID — Căn cước điện tử", "Căn cước điện tử VNeID", "Đăng ký định danh mức 2 tại công an xã, phường",
		color.NRGBA{200, 16, 46, 255}, color.NRGBA{90, 0, 20, 255}, []string{"campaign:vneid"}},
	{"BHYT hộ gia đình", "Bảo hiểm y tế hộ gia đình", "Tham gia BHYT — an tâm khám chữa bệnh",
		color.NRGBA{0, 94, 184, 255}, color.NRGBA{0, 40, 90, 255}, []string{"campaign:bhyt"}},
	{"Phòng chống bão số 3", "Cảnh báo bão số 3", "Người dân không ra khơi, gia cố nhà cửa",
		color.NRGBA{230, 120, 0, 255}, color.NRGBA{150, 40, 0, 255}, []string{"emergency"}},
	{"Chào mừng đến Thanh Hóa", "Chào mừng đến Thanh Hóa", "Xứ Thanh — đất địa linh, nhân kiệt",
		color.NRGBA{0, 120, 70, 255}, color.NRGBA{0, 50, 30, 255}, []string{"fallback"}},
}

var screens = []struct {
	name          string
	width, height int
	tags          []string
	address       string
}{
	{"Sân bay Thọ Xuân — sảnh đến", 384, 192, []string{"airport", "district:tho-xuan"}, "Cảng hàng không Thọ Xuân, Thanh Hóa"},
	{"Quảng trường Lam Sơn — mặt tiền", 1536, 256, []string{"facade", "district:tp-thanh-hoa"}, "Quảng trường Lam Sơn, TP Thanh Hóa"},
	{"Chung cư Eco Green — sảnh", 192, 96, []string{"lobby", "district:tp-thanh-hoa"}, "Phường Đông Hương, TP Thanh Hóa"},
}

// Seed creates the sample content unless displays exist already; either
// way it returns the demo's displays with fresh tokens (rotated, since
// tokens are stored only hashed).
func Seed(ctx context.Context, s Services) ([]Display, error) {
	existing, _, err := s.Displays.List(ctx, displays.Filter{Limit: 50})
	if err != nil {
		return nil, fmt.Errorf("list displays: %w", err)
	}
	if len(existing) == 0 {
		if err := seed(ctx, s); err != nil {
			return nil, err
		}
		if existing, _, err = s.Displays.List(ctx, displays.Filter{Limit: 50}); err != nil {
			return nil, fmt.Errorf("list displays: %w", err)
		}
	}
	out := make([]Display, 0, len(existing))
	for _, d := range existing {
		tok, err := s.Displays.RotateToken(ctx, d.ID)
		if err != nil {
			return nil, fmt.Errorf("rotate token of %s: %w", d.ID, err)
		}
		out = append(out, Display{ID: d.ID, Name: d.Name, Width: d.Width, Height: d.Height, Token: tok})
	}
	return out, nil
}

func seed(ctx context.Context, s Services) error {
	meta := func(name string, tags []string) media.Meta {
		return media.Meta{Name: name, Tags: tags, OrgID: s.OrgID, CreatedBy: s.UserID}
	}
	ids := make([]string, len(banners))
	for i, b := range banners {
		img, err := banner.Render(banner.Spec{Width: 1536, Height: 768, Title: b.title, Subtitle: b.subtitle, From: b.from, To: b.to})
		if err != nil {
			return fmt.Errorf("render %q: %w", b.name, err)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return fmt.Errorf("encode %q: %w", b.name, err)
		}
		it, err := s.Library.Upload(ctx, &buf, meta(b.name, b.tags))
		if err != nil {
			return fmt.Errorf("upload %q: %w", b.name, err)
		}
		ids[i] = it.ID
	}
	vid, err := s.Library.Upload(ctx, bytes.NewReader(clip), meta("Video hướng dẫn VNeID", []string{"campaign:vneid", "video"}))
	if err != nil {
		return fmt.Errorf("upload clip: %w", err)
	}

	pl := func(name string, items ...playlists.Item) (*playlists.Playlist, error) {
		return s.Playlists.Create(ctx, playlists.Input{Name: name, Items: items, OrgID: s.OrgID, CreatedBy: s.UserID})
	}
	vneid, err := pl("Chiến dịch VNeID", playlists.Item{MediaID: ids[0], DurationMS: 8000}, playlists.Item{MediaID: vid.ID})
	if err != nil {
		return fmt.Errorf("create playlist: %w", err)
	}
	bhyt, err := pl("BHYT hộ gia đình", playlists.Item{MediaID: ids[1], DurationMS: 10000})
	if err != nil {
		return fmt.Errorf("create playlist: %w", err)
	}
	storm, err := pl("Tin khẩn: bão số 3", playlists.Item{MediaID: ids[2], DurationMS: 15000})
	if err != nil {
		return fmt.Errorf("create playlist: %w", err)
	}
	welcome, err := pl("Mặc định", playlists.Item{MediaID: ids[3], DurationMS: 10000, Fit: "fit"})
	if err != nil {
		return fmt.Errorf("create playlist: %w", err)
	}

	for _, sc := range screens {
		loc := &displays.Location{Address: sc.address}
		if _, _, err := s.Displays.Create(ctx, displays.Input{OrgID: s.OrgID, Name: sc.name, Width: sc.width, Height: sc.height,
			Tags: sc.tags, Location: loc, FallbackPlaylistID: welcome.ID}); err != nil {
			return fmt.Errorf("create display %q: %w", sc.name, err)
		}
	}

	// ctx carries no actor: the server seeds by itself, so the schedules
	// service approves each schedule (by schedules.SystemActor) as it
	// creates it, and the demo's screens play at once.
	today := time.Now().In(mustZone()).Format(time.DateOnly)
	for _, in := range []schedules.Input{
		{Name: "VNeID cả ngày — sân bay và mặt tiền", PlaylistID: vneid.ID, Priority: marquee.LayerCampaign,
			Targets: schedules.Targets{Tags: []string{"airport", "facade"}}, StartsOn: today},
		{Name: "BHYT 06:00–22:00 mỗi ngày", PlaylistID: bhyt.ID, Priority: marquee.LayerCampaign,
			Targets: schedules.Targets{Tags: []string{"facade", "lobby"}}, Cron: "0 6 * * *", Duration: 16 * time.Hour},
		{Name: "Tin khẩn bão số 3 — 1 phút mỗi 10 phút", PlaylistID: storm.ID, Priority: marquee.LayerEmergency,
			Targets: schedules.Targets{Tags: []string{"district:tp-thanh-hoa"}}, Cron: "*/10 * * * *", Duration: time.Minute},
	} {
		in.OrgID = s.OrgID
		if _, _, err := s.Schedules.Create(ctx, in); err != nil {
			return fmt.Errorf("create schedule %q: %w", in.Name, err)
		}
	}
	return nil
}

func mustZone() *time.Location {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		return time.FixedZone("ICT", 7*3600)
	}
	return loc
}
