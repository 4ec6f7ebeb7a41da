package admin

// Changes hears of every successful change to media, playlists, displays
// and schedules made through the API, so that the displays it affects get
// their new desired state (package fleet publishes it over MQTT). Notify
// must return at once. kind is desired.ChangeMedia, ChangePlaylist,
// ChangeSchedule, ChangeDisplay, or TokenRotated (a display's credential
// changed: whoever holds connections made with the old one should drop
// them).
type Changes interface {
	Notify(kind, id string)
}

// notify passes a change on, if anyone listens.
func (s *Server) notify(kind, id string) {
	if s.changes != nil {
		s.changes.Notify(kind, id)
	}
}

// TokenRotated is the change kind of a display token rotation.
const TokenRotated = "display-token"
