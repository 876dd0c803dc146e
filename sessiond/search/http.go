package search

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/wsorigin"
)

// ServiceOptions configures the HTTP side; Workspace is required.
type ServiceOptions struct {
	Workspace *workspace.Workspace
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Origins guards the WebSocket; the zero value allows same origin.
	Origins wsorigin.Policy
	// Search tunes every search; the zero value works.
	Search Options
}

// Service serves search and replace over the /api/v1 routes.
type Service struct {
	opts ServiceOptions
	ctx  context.Context
	stop context.CancelFunc
}

// New builds the service.
func New(o ServiceOptions) (*Service, error) {
	if o.Workspace == nil {
		return nil, errors.New("search: ServiceOptions.Workspace is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Service{opts: o, ctx: ctx, stop: stop}, nil
}

// Mount adds GET /search (WebSocket) and POST /search/replace.
func (s *Service) Mount(api fiber.Router) {
	api.Get("/search", s.opts.Origins.Upgrade(s.stream))
	api.Post("/search/replace", s.replace)
}

// Close stops every running search.
func (s *Service) Close() error {
	s.stop()
	return nil
}

// Frame is one server-to-client message of the search WebSocket.
type Frame struct {
	Type string `json:"type"` // "file", "done" or "error"
	*FileMatches
	Summary *Summary      `json:"summary,omitempty"`
	Error   *apierr.Error `json:"error,omitempty"`
}

// maxQuery bounds the query message (pattern and globs).
const maxQuery = 1 << 20

func (s *Service) stream(conn *websocket.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	conn.SetReadLimit(maxQuery)
	var q Query
	_, msg, err := conn.ReadMessage()
	if err != nil {
		return
	}
	if err := json.Unmarshal(msg, &q); err != nil {
		s.finish(conn, Frame{Type: "error", Error: apierr.BadRequest("search: the first message must be a JSON query: %v", err)})
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	// Any message or a close from the client stops the search. The reader
	// must be gone before this handler returns (fasthttp reuses the
	// connection's buffers), so the deferred wait closes the socket if the
	// client has not answered the close within a second.
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		defer cancel()
		_, _, _ = conn.ReadMessage()
	}()
	defer func() {
		select {
		case <-gone:
		case <-time.After(time.Second):
			conn.Close()
			<-gone
		}
	}()
	sum, err := Run(ctx, s.opts.Workspace.Root(), q, s.opts.Search, func(fm *FileMatches) error {
		return conn.WriteJSON(Frame{Type: "file", FileMatches: fm})
	})
	if err != nil {
		if ctx.Err() != nil {
			return // the client left
		}
		var ae *apierr.Error
		if !errors.As(err, &ae) {
			s.opts.Logger.Warn("search failed", "err", err)
			ae = apierr.New(500, "search_failed", "%v", err)
		}
		s.finish(conn, Frame{Type: "error", Error: ae})
		return
	}
	s.finish(conn, Frame{Type: "done", Summary: &sum})
}

func (s *Service) finish(conn *websocket.Conn, f Frame) {
	if err := conn.WriteJSON(f); err != nil {
		return
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, f.Type), time.Now().Add(time.Second))
}

// ReplaceRequest is the body of POST /search/replace.
type ReplaceRequest struct {
	Query   Query     `json:"query"`
	Replace string    `json:"replace"`
	Files   []FileRef `json:"files"`
}

func (s *Service) replace(c *fiber.Ctx) error {
	var req ReplaceRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return apierr.BadRequest("search/replace: invalid JSON body: %v", err)
	}
	if len(req.Files) == 0 {
		return apierr.BadRequest("search/replace: no files")
	}
	res, err := Replace(s.opts.Workspace, req.Query, req.Replace, req.Files)
	if err != nil {
		return err
	}
	b, err := json.Marshal(map[string]any{"files": res})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(b)
}
