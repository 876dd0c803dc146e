package terminal

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
)

// Mount adds the terminal routes to the /api/v1 group.
func (s *Service) Mount(api fiber.Router) {
	api.Get("/ptys", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"ptys": s.List()}) })
	api.Delete("/ptys/:id", s.handleKill)
	api.Get("/pty", s.prePTY, s.opts.Origins.Upgrade(s.serve))
}

func (s *Service) handleKill(c *fiber.Ctx) error {
	t, err := s.Get(c.Params("id"))
	if err != nil {
		return err
	}
	t.Kill()
	<-t.exited
	s.forget(t.id)
	return c.JSON(t.Info())
}

// Size limits for cols and rows.
const maxDim = 1000

func dim(c *fiber.Ctx, name string, def int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxDim {
		return 0, apierr.BadRequest("%s must be a whole number from 1 to %d, got %q", name, maxDim, v)
	}
	return n, nil
}

// prePTY validates the query and resolves or opens the session before the
// upgrade, so bad input gets a JSON error.
func (s *Service) prePTY(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return c.Next() // let the upgrader answer 426
	}
	cols, err := dim(c, "cols", 80)
	if err != nil {
		return err
	}
	rows, err := dim(c, "rows", 24)
	if err != nil {
		return err
	}
	var t *Session
	if id := c.Query("id"); id != "" {
		if t, err = s.Get(id); err != nil {
			return err
		}
		if c.Query("cols") != "" || c.Query("rows") != "" {
			_ = t.Resize(cols, rows)
		}
	} else {
		if !s.opts.Origins.Allows(c.Get(fiber.HeaderOrigin), c.Hostname()) {
			return c.Next() // refused by the upgrader; start no shell
		}
		if t, err = s.Open(cols, rows); err != nil {
			return err
		}
	}
	c.Locals("session", t)
	return c.Next()
}

type control struct {
	Type string `json:"type"`
	Cols int    `json:"cols"`
	Rows int    `json:"rows"`
}

// Close code for a client replaced by a newer attachment to the same id.
const closeReplaced = 4000

func (s *Service) serve(conn *websocket.Conn) {
	t := conn.Locals("session").(*Session)
	gen, kicked := t.attach()
	start := t.out.recent()
	if err := conn.WriteJSON(fiber.Map{"type": "hello", "id": t.id}); err != nil {
		t.detach(gen)
		return
	}
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			mt, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			switch mt {
			case websocket.BinaryMessage:
				if _, err := t.pty.Write(msg); err != nil {
					return
				}
			case websocket.TextMessage:
				var m control
				if json.Unmarshal(msg, &m) == nil && m.Type == "resize" &&
					m.Cols >= 1 && m.Cols <= maxDim && m.Rows >= 1 && m.Rows <= maxDim {
					_ = t.Resize(m.Cols, m.Rows)
				}
			}
		}
	}()
	off := start
	for {
		data, next, wait, done := t.out.readFrom(off, 64<<10)
		off = next
		if len(data) > 0 {
			if err := conn.WriteMessage(websocket.BinaryMessage, data); err != nil {
				t.detach(gen)
				return
			}
			continue
		}
		if done {
			break
		}
		select {
		case <-wait:
		case <-gone:
			t.detach(gen)
			return
		case <-kicked:
			_ = conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(closeReplaced, "terminal attached from another connection"), time.Now().Add(time.Second))
			return
		}
	}
	<-t.exited
	st := t.Info().Status
	s.forget(t.id) // before the client hears of the exit, so lists agree
	_ = conn.WriteJSON(fiber.Map{"type": "exit", "status": st})
	_ = conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, "shell exited"), time.Now().Add(time.Second))
	select {
	case <-gone:
	case <-time.After(2 * time.Second):
	}
}
