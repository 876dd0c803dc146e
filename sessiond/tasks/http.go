package tasks

import (
	"context"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"gatewave.dev/sessiond/problems"
	"gatewave.dev/shared/apierr"
)

// Mount adds the task routes to the /api/v1 group.
func (s *Service) Mount(api fiber.Router) {
	api.Get("/tasks", s.handleList)
	api.Post("/tasks", s.handleStart)
	api.Get("/tasks/:id", s.handleGet)
	api.Delete("/tasks/:id", s.handleCancel)
	api.Get("/tasks/:id/log", s.preLog, s.opts.Origins.Upgrade(s.streamLog))
	api.Get("/build/report", s.handleReport)
}

// handleReport answers the latest build report (see the package doc).
func (s *Service) handleReport(c *fiber.Ctx) error {
	s.mu.Lock()
	r := s.last
	s.mu.Unlock()
	if r == nil {
		return apierr.NotFound("no build has made a report yet (a build whose nextpnr runs with --report FILE)")
	}
	return c.JSON(r)
}

// handleList answers {"tasks":[...started tasks...],"defined":[...named tasks...]}.
func (s *Service) handleList(c *fiber.Ctx) error {
	defs, err := s.Defs()
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"tasks": s.List(), "defined": defs})
}

type startRequest struct {
	Task    string   `json:"task"`
	Command []string `json:"command"`
	Dir     string   `json:"dir"`
}

func (s *Service) handleStart(c *fiber.Ctx) error {
	var req startRequest
	if len(c.Body()) == 0 {
		return apierr.BadRequest(`a JSON body is required: {"task":"build"} or {"command":["make","-j2"]}`)
	}
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return apierr.BadRequest("invalid JSON body: %v", err)
	}
	var (
		t   *Task
		err error
	)
	switch {
	case req.Task != "" && req.Command != nil:
		return apierr.BadRequest(`give either "task" or "command", not both`)
	case req.Task != "":
		if req.Dir != "" {
			return apierr.BadRequest(`"dir" applies to "command" only; a named task's directory comes from ` + ConfigPath)
		}
		t, err = s.StartNamed(req.Task)
	case req.Command != nil:
		t, err = s.Start(Spec{Argv: req.Command, Dir: req.Dir})
	default:
		return apierr.BadRequest(`give "task" (a named task such as "build") or "command" (an argv array)`)
	}
	if err != nil {
		return err
	}
	c.Location(c.BaseURL() + c.OriginalURL() + "/" + t.ID())
	return c.Status(fiber.StatusCreated).JSON(t.Info())
}

func (s *Service) handleGet(c *fiber.Ctx) error {
	t, err := s.Get(c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(t.Info())
}

func (s *Service) handleCancel(c *fiber.Ctx) error {
	t, err := s.Cancel(c.Params("id"))
	if err != nil {
		return err
	}
	// Report the final state when the group goes down promptly.
	ctx, cancel := context.WithTimeout(c.UserContext(), s.opts.KillGrace+time.Second)
	defer cancel()
	info, _ := t.Wait(ctx)
	return c.JSON(info)
}

func (s *Service) preLog(c *fiber.Ctx) error {
	t, err := s.Get(c.Params("id"))
	if err != nil {
		return err
	}
	c.Locals("task", t)
	c.Locals("problems", c.Query("problems") == "1")
	return c.Next()
}

type outputFrame struct {
	Type string `json:"type"`
	Data string `json:"data"`
}

type exitFrame struct {
	Type     string   `json:"type"`
	State    State    `json:"state"`
	ExitCode *int     `json:"exit_code"`
	Error    *Problem `json:"error,omitempty"`
	Result   any      `json:"result,omitempty"`
	Report   any      `json:"report,omitempty"`
}

type problemsFrame struct {
	Type     string             `json:"type"`
	Problems []problems.Problem `json:"problems"`
}

// maxFrame bounds one output frame, so a late joiner receives a long log
// as a series of frames rather than one huge message.
const maxFrame = 64 << 10

func (s *Service) streamLog(conn *websocket.Conn) {
	t := conn.Locals("task").(*Task)
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	var (
		off     int64
		pending []byte // bytes of an unfinished UTF-8 sequence
		sent    int    // problems sent so far
	)
	wantProblems, _ := conn.Locals("problems").(bool)
	sendProblems := func() error {
		if !wantProblems {
			return nil
		}
		if ps := t.probs.Since(sent); len(ps) > 0 {
			sent += len(ps)
			return conn.WriteJSON(problemsFrame{Type: "problems", Problems: ps})
		}
		return nil
	}
	for {
		data, next, wait, done := t.log.readFrom(off)
		off = next
		if len(data) > 0 {
			pending = append(pending, data...)
			send := pending
			if !done {
				send = pending[:completeUTF8(pending)]
			}
			for len(send) > 0 {
				n := min(len(send), maxFrame)
				if n < len(send) {
					n = completeUTF8(send[:n])
					if n == 0 {
						n = min(len(send), maxFrame)
					}
				}
				if err := conn.WriteJSON(outputFrame{Type: "output", Data: string(send[:n])}); err != nil {
					return
				}
				send = send[n:]
				pending = pending[n:]
			}
			pending = append([]byte(nil), pending...)
			if err := sendProblems(); err != nil {
				return
			}
			continue
		}
		if done {
			if len(pending) > 0 {
				if err := conn.WriteJSON(outputFrame{Type: "output", Data: string(pending)}); err != nil {
					return
				}
			}
			break
		}
		select {
		case <-wait:
		case <-gone:
			return
		}
	}
	<-t.done
	if err := sendProblems(); err != nil {
		return
	}
	info := t.Info()
	if err := conn.WriteJSON(exitFrame{Type: "exit", State: info.State, ExitCode: info.ExitCode, Error: info.Error, Result: info.Result, Report: info.Report}); err != nil {
		return
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, string(info.State)), time.Now().Add(time.Second))
	select {
	case <-gone:
	case <-time.After(2 * time.Second):
	}
}

// completeUTF8 returns the length of the longest prefix of b that does not
// end inside a multi-byte UTF-8 sequence (invalid bytes count as complete).
func completeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return i
			}
			return len(b)
		}
	}
	return len(b)
}
