package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
)

// Commands sends commands to displays over MQTT and lists them. Package
// fleet implements it (through a small adapter in cmd/marquee: admin does
// not import fleet, whose Command has the same fields).
type Commands interface {
	// SendCommand records and publishes a command; a type other than
	// reload-state, resync-media and clear-cache is EINVALID, an unknown
	// display ENOTFOUND. A command the broker could not take is returned
	// with status "failed".
	SendCommand(ctx context.Context, displayID, typ string, args map[string]string, userID string) (*Command, error)
	// ListCommands returns one page of the display's commands, newest
	// first, and the next cursor ("" on the last page).
	ListCommands(ctx context.Context, displayID string, limit int, cursor string) ([]*Command, string, error)
}

// Command is a command sent to a display and what became of it.
type Command struct {
	ID        string            `json:"id"`
	DisplayID string            `json:"display_id"`
	Type      string            `json:"type"`
	Args      map[string]string `json:"args"`
	IssuedBy  string            `json:"issued_by"`
	IssuedAt  time.Time         `json:"issued_at"`
	// Status is pending, sent (the broker has it), ok or failed.
	Status     string     `json:"status"`
	Error      string     `json:"error"`
	FinishedAt *time.Time `json:"finished_at"`
}

// commandRequest is the body of POST /api/v1/displays/{id}/commands.
type commandRequest struct {
	Type string            `json:"type"`
	Args map[string]string `json:"args"`
}

// errNoMQTT answers what needs MQTT when the server runs without it.
func errNoMQTT() error {
	return marquee.Errorf(marquee.EUNAVAILABLE, "commands need MQTT, which is off on this server")
}

// handleSendCommand: POST /api/v1/displays/{id}/commands {"type","args"} →
// 202 with the command, sent or (broker unreachable) failed. The
// display's answer arrives later: poll the list.
func (s *Server) handleSendCommand(c echo.Context) error {
	if s.commands == nil {
		return errNoMQTT()
	}
	var req commandRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	if err := s.checkDisplay(c); err != nil {
		return err
	}
	cmd, err := s.commands.SendCommand(c.Request().Context(), c.Param("id"), req.Type, req.Args, currentUser(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, cmd)
}

// handleListCommands: GET /api/v1/displays/{id}/commands?limit=&cursor= →
// the display's commands, newest first.
func (s *Server) handleListCommands(c echo.Context) error {
	if s.commands == nil {
		return errNoMQTT()
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	if err := s.checkDisplay(c); err != nil {
		return err
	}
	cs, next, err := s.commands.ListCommands(c.Request().Context(), c.Param("id"), limit, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []*Command{}
	}
	return c.JSON(http.StatusOK, listResponse[*Command]{Items: cs, NextCursor: next})
}
