package tasks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/cloud/objstore"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/fleetproto"
)

// Mount adds the task API to app. Every route needs a signed-in user (or
// basic credentials with accounts.ClientHeader); POSTs from a browser
// need the CSRF token.
//
//	POST /api/v1/tasks                       submit a Spec → 201 Task
//	GET  /api/v1/tasks[?all=true&limit=N]    the newest tasks
//	GET  /api/v1/tasks/:id                   {"task", "events"}
//	GET  /api/v1/tasks/:id/logs[?attempt=N&tail=LINES&follow=true]   the output as text
//	POST /api/v1/tasks/:id/cancel            → Task
//	GET  /api/v1/tasks/:id/artifacts/*       303 to a short-lived download link
//	POST /api/v1/uploads {"name"}            a short-lived upload link for an input
func (s *Service) Mount(app fiber.Router) {
	req := s.opts.Accounts.RequireAPI()
	app.Post("/api/v1/tasks", req, s.postTask)
	app.Get("/api/v1/tasks", req, s.getTasks)
	app.Get("/api/v1/tasks/:id", req, s.getTask)
	app.Get("/api/v1/tasks/:id/logs", req, s.getLogs)
	app.Post("/api/v1/tasks/:id/cancel", req, s.postCancel)
	app.Get("/api/v1/tasks/:id/artifacts/*", req, s.getArtifact)
	app.Post("/api/v1/uploads", req, s.postUpload)
}

func user(c *fiber.Ctx) User {
	u, _ := accounts.UserFrom(c)
	return u
}

func taskID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNoTask
	}
	return id, nil
}

// owned returns the request's task (:id) if the user may see it.
func (s *Service) owned(c *fiber.Ctx) (Task, error) {
	id, err := taskID(c)
	if err != nil {
		return Task{}, err
	}
	return s.Get(c.UserContext(), user(c), id)
}

func (s *Service) postTask(c *fiber.Ctx) error {
	if err := s.opts.Accounts.CheckAPICSRF(c); err != nil {
		return err
	}
	spec, err := decodeSpec(c.Body())
	if err != nil {
		return err
	}
	t, err := s.Submit(c.UserContext(), user(c), spec)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(t)
}

func (s *Service) getTasks(c *fiber.Ctx) error {
	ts, err := s.List(c.UserContext(), user(c), c.QueryBool("all"), c.QueryInt("limit"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"tasks": ts})
}

func (s *Service) getTask(c *fiber.Ctx) error {
	t, err := s.owned(c)
	if err != nil {
		return err
	}
	ev, err := s.Events(c.UserContext(), t.ID)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"task": t, "events": ev})
}

func (s *Service) postCancel(c *fiber.Ctx) error {
	if err := s.opts.Accounts.CheckAPICSRF(c); err != nil {
		return err
	}
	id, err := taskID(c)
	if err != nil {
		return err
	}
	t, err := s.Cancel(c.UserContext(), user(c), id)
	if err != nil {
		return err
	}
	return c.JSON(t)
}

// getLogs answers the output of an attempt (the latest by default) as
// text; with follow=true it keeps the response open and streams new
// output until the attempt ends (or the client goes away).
func (s *Service) getLogs(c *fiber.Ctx) error {
	t, err := s.owned(c)
	if err != nil {
		return err
	}
	id := t.ID
	attempt := c.QueryInt("attempt", t.Attempt)
	follow := c.QueryBool("follow")
	tail := c.QueryInt("tail")
	if tail < 0 || tail > 100000 {
		return apierr.BadRequest("tail must be between 1 and 100000 lines")
	}
	c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
	c.Set("X-Task-Attempt", strconv.Itoa(attempt))
	c.Set("Cache-Control", "no-store")
	ctx := context.WithoutCancel(c.UserContext())
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		var after int64
		if tail > 0 {
			b, last, err := s.LogTail(ctx, id, attempt, tail)
			if err != nil {
				fmt.Fprintf(w, "\n[gatewave: reading the log failed: %v]\n", err)
				_ = w.Flush()
				return
			}
			_, _ = w.Write(b)
			after = last
		}
		deadline := time.Now().Add(t.timeout() + BuildBudget + 15*time.Minute)
		for {
			chunks, err := s.Logs(ctx, id, attempt, after)
			if err != nil {
				fmt.Fprintf(w, "\n[gatewave: reading the log failed: %v]\n", err)
				_ = w.Flush()
				return
			}
			for _, ch := range chunks {
				if _, err := w.Write(ch.Data); err != nil {
					return
				}
				after = ch.Seq
			}
			if len(chunks) > 0 {
				if err := w.Flush(); err != nil {
					return // the client went away
				}
				continue
			}
			if !follow || time.Now().After(deadline) {
				return
			}
			st, cur, err := s.state(ctx, id)
			if err != nil || cur != attempt || fleetproto.TaskTerminal(st) {
				// One last read: chunks can land just before the end.
				if chunks, err := s.Logs(ctx, id, attempt, after); err == nil {
					for _, ch := range chunks {
						_, _ = w.Write(ch.Data)
					}
				}
				_ = w.Flush()
				return
			}
			// An empty write finds a client that went away.
			if err := w.Flush(); err != nil {
				return
			}
			time.Sleep(pollEvery)
		}
	})
	return nil
}

func (t Task) timeout() time.Duration { return time.Duration(t.TimeoutSeconds) * time.Second }

func (s *Service) getArtifact(c *fiber.Ctx) error {
	t, err := s.owned(c)
	if err != nil {
		return err
	}
	id := t.ID
	p, err := url.PathUnescape(c.Params("*"))
	if err != nil {
		return apierr.BadRequest("artifact path: %v", err)
	}
	if _, ok := t.Artifacts[p]; !ok {
		return apierr.NotFound("task %d has no artifact %q (it has %d)", id, p, len(t.Artifacts))
	}
	if s.opts.Objects == nil {
		return apierr.New(fiber.StatusServiceUnavailable, "no_store", "this cloud has no object store configured")
	}
	key, err := objstore.TaskArtifactKey(id, t.Attempt, p)
	if err != nil {
		return apierr.BadRequest("artifact path: %v", err)
	}
	link, err := s.opts.Objects.PresignGet(c.UserContext(), key, s.opts.ArtifactLinkTTL)
	if err != nil {
		return err
	}
	c.Set("Cache-Control", "no-store")
	c.Set("Referrer-Policy", "no-referrer")
	if !c.QueryBool("inline") {
		return c.Redirect(link, fiber.StatusSeeOther)
	}
	// inline=true: the bytes through the cloud, for the IDE, which
	// flashes a bitstream from the page and cannot read another origin.
	return s.streamObject(c, link, p)
}

// maxInline bounds an artifact the cloud streams itself.
const maxInline = 64 << 20

func (s *Service) streamObject(c *fiber.Ctx, link, name string) error {
	req, err := http.NewRequestWithContext(c.UserContext(), http.MethodGet, link, nil)
	if err != nil {
		return apierr.New(fiber.StatusBadGateway, "store", "cannot read %s from the object store", name)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		// Never the error as is: it holds the presigned link.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return apierr.New(fiber.StatusBadGateway, "store", "the object store did not answer: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return apierr.New(fiber.StatusBadGateway, "store", "the object store answered %s", resp.Status)
	}
	if resp.ContentLength < 0 || resp.ContentLength > maxInline {
		resp.Body.Close()
		return apierr.New(fiber.StatusRequestEntityTooLarge, "too_large", "%s is over %d MiB (or of unknown size); download it instead (without inline)", name, maxInline>>20)
	}
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", path.Base(name)))
	c.Context().SetBodyStream(resp.Body, int(resp.ContentLength))
	return nil
}

func (s *Service) postUpload(c *fiber.Ctx) error {
	if err := s.opts.Accounts.CheckAPICSRF(c); err != nil {
		return err
	}
	if s.opts.Objects == nil {
		return apierr.New(fiber.StatusServiceUnavailable, "no_store", "this cloud has no object store configured")
	}
	var body struct {
		Name string `json:"name"`
	}
	if err := c.BodyParser(&body); err != nil {
		return apierr.BadRequest("want {\"name\": PATH}")
	}
	u := user(c)
	key, err := objstore.UploadKey(u.ID, body.Name)
	if err != nil {
		return apierr.BadRequest("name: %v", err)
	}
	ttl := 15 * time.Minute
	link, err := s.opts.Objects.PresignPut(c.UserContext(), key, ttl)
	if err != nil {
		return err
	}
	c.Set("Cache-Control", "no-store")
	return c.JSON(fiber.Map{"object": key, "url": link, "method": "PUT", "expires_at": s.opts.Now().Add(ttl)})
}
