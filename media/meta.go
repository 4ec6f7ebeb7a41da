package media

import "github.com/marquee-signage/marquee/internal/label"

// Meta is what the uploader says about a file; the file itself says the rest.
type Meta struct {
	Name      string   // display name: data only, never a path
	Tags      []string // optional
	OrgID     string   // owning organisation
	CreatedBy string   // user ID
}

// Limits on names and tags (see package label).
const (
	MaxNameRunes = label.MaxNameRunes
	MaxTagRunes  = label.MaxTagRunes
	MaxTags      = label.MaxTags
)

func normaliseName(name string) (string, error) { return label.Name(name) }

func normaliseTags(tags []string) ([]string, error) { return label.Tags(tags) }
