package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/marquee-signage/marquee"
)

// readyTimeout bounds a readiness check, so that a hung database makes
// /readyz fail rather than hang the prober.
const readyTimeout = 5 * time.Second

type healthResponse struct {
	Status  string `json:"status"`
	Version string `json:"version,omitempty"`
}

// handleHealthz: GET /healthz answers 200 while the process serves HTTP.
func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, healthResponse{Status: "ok", Version: s.version})
}

// handleReadyz: GET /readyz answers 200 when Config.Ready succeeds, 503
// otherwise. The cause is logged, not shown.
func (s *Server) handleReadyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		s.logger.Warn("not ready", "request_id", requestID(c), "err", err)
		return marquee.Errorf(marquee.EUNAVAILABLE, "not ready")
	}
	return c.JSON(http.StatusOK, healthResponse{Status: "ok"})
}
