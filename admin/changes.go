package admin

// Changes hears of every successful change to media, playlists, displays
// and schedules made through the API, so that the displays it affects get
// their new desired state (package fleet publishes it over MQTT). Notify
// must return at once. kind is desired.ChangeMedia, ChangePlaylist,
// ChangeSchedule or ChangeDisplay.
type Changes interface {
	Notify(kind, id string)
}

// notify passes a change on, if anyone listens.
func (s *Server) notify(kind, id string) {
	if s.changes != nil {
		s.changes.Notify(kind, id)
	}
}
