package admin_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/marquee-signage/marquee"
)

// TestFallbackPinned: a display's fallback plays the playlist revision
// pinned when an admin set it. An editor's edit of the playlist reaches no
// screen, and the media of the pinned revision cannot be deleted, until an
// admin sets the fallback again (a PUT naming the same playlist re-pins).
func TestFallbackPinned(t *testing.T) {
	f := newApprovalFixture(t)
	lobbyPath := "/api/v1/displays/" + f.lobby.ID
	body := display("Lobby", "tags", []string{"lobby"}, "fallback_playlist_id", f.playlist.ID)

	// state returns the lobby's desired state and the media its fallback plays.
	state := func() (marquee.DesiredState, []string) {
		t.Helper()
		var st marquee.DesiredState
		mustDecode(t, f.get(lobbyPath+"/state"), http.StatusOK, &st)
		if err := st.Validate(); err != nil {
			t.Fatalf("state does not validate: %v", err)
		}
		if st.Fallback == nil {
			t.Fatal("the state has no fallback")
		}
		var items []string
		for _, p := range st.Playlists {
			if p.PlaylistID == st.Fallback.PlaylistID && p.Revision == st.Fallback.Revision {
				for _, it := range p.Items {
					items = append(items, it.MediaID)
				}
			}
		}
		return st, items
	}
	put := func(wantRev int64) {
		t.Helper()
		var d displayJSON
		mustDecodeStrict(t, f.doJSON(http.MethodPut, lobbyPath, body), http.StatusOK, &d)
		if d.FallbackPlaylistID != f.playlist.ID || d.FallbackRevision != wantRev {
			t.Fatalf("PUT answers fallback %s@%d, want %s@%d", d.FallbackPlaylistID, d.FallbackRevision, f.playlist.ID, wantRev)
		}
		mustDecodeStrict(t, f.get(lobbyPath), http.StatusOK, &d)
		if d.FallbackRevision != wantRev {
			t.Fatalf("GET answers fallback revision %d, want %d", d.FallbackRevision, wantRev)
		}
	}

	// An admin sets the fallback: revision 1 (red) is pinned.
	put(1)
	st1, items := state()
	if st1.Fallback.Revision != 1 || !slices.Equal(items, []string{f.red}) {
		t.Fatalf("fallback %v plays %v, want revision 1 playing red", st1.Fallback, items)
	}

	// An editor edits the playlist (revision 2, blue): screens keep revision 1.
	f.editPlaylist(f.blue)
	st, items := state()
	if st.Fallback.Revision != 1 || !slices.Equal(items, []string{f.red}) || st.Revision != st1.Revision {
		t.Fatalf("after the edit: fallback %v plays %v at state revision %d, want revision 1 playing red at %d",
			st.Fallback, items, st.Revision, st1.Revision)
	}
	for _, a := range st.Media {
		if a.MediaID == f.blue {
			t.Fatal("the unapproved edit's media is in the state")
		}
	}
	// Red is in no current revision, but the pinned one plays it.
	f.as(f.editor, func() {
		wantError(t, f.do(http.MethodDelete, "/api/v1/media/"+f.red, nil, nil), http.StatusConflict, "conflict")
		// Editors cannot set a fallback (and so cannot re-pin it).
		wantError(t, f.doJSON(http.MethodPut, lobbyPath, body), http.StatusForbidden, "forbidden")
	})
	if _, items := state(); !slices.Equal(items, []string{f.red}) {
		t.Fatalf("after the editor's attempts the fallback plays %v", items)
	}

	// An admin puts the display again with the same fallback: revision 2.
	put(2)
	st, items = state()
	if st.Fallback.Revision != 2 || !slices.Equal(items, []string{f.blue}) || st.Revision <= st1.Revision {
		t.Fatalf("after re-pinning: fallback %v plays %v at state revision %d, want revision 2 playing blue after %d",
			st.Fallback, items, st.Revision, st1.Revision)
	}
	f.as(f.editor, func() {
		if resp := f.do(http.MethodDelete, "/api/v1/media/"+f.red, nil, nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete of media no longer played: status %d", resp.StatusCode)
		}
	})
}
