package desired

import (
	"context"
	"fmt"
	"time"

	"github.com/marquee-signage/marquee"
)

// BuildAt is Build as of the instant at: the same content, except that
// rules are pruned as a build at that instant would prune them (a rule
// whose last window ended before at is left out; one that ends later is
// kept). Reports use it to run the resolver over a past period. The
// schedules' approved versions, playlists and media are today's: an
// approval or an edit of a display made after at is not undone.
func (b *Builder) BuildAt(ctx context.Context, displayID string, at time.Time) (*marquee.DesiredState, error) {
	d, err := b.store.FindDisplayByID(ctx, displayID)
	if err != nil {
		return nil, err
	}
	scheds, err := b.store.FindLiveSchedulesForDisplay(ctx, d.ID)
	if err != nil {
		return nil, fmt.Errorf("find schedules: %w", err)
	}
	return assemble(ctx, direct{b: b, now: at}, d, scheds)
}
