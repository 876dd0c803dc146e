package server

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"gatewave.dev/sessiond/watch"
	"gatewave.dev/sessiond/workspace"
	"gatewave.dev/shared/apierr"
)

func (s *Server) mountFiles(api fiber.Router) {
	api.Get("/files", s.listFiles)
	api.Get("/file", s.readFile)
	api.Put("/file", s.writeFile)
	api.Delete("/file", s.deleteFile)
	api.Post("/files/mkdir", s.mkdir)
	api.Post("/files/move", s.move)
	api.Get("/files/watch", s.startWatch, s.origins.Upgrade(s.watchStream))
}

// queryPath reads and validates the path query parameter.
func queryPath(c *fiber.Ctx, name string) (string, error) {
	return workspace.Clean(c.Query(name))
}

func (s *Server) listFiles(c *fiber.Ctx) error {
	rel, err := queryPath(c, "path")
	if err != nil {
		return err
	}
	stat, err := boolParam(c.Query("stat", "true"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	if !stat {
		names, err := s.ws.ListNames(rel)
		if err != nil {
			return err
		}
		// A fresh buffer per request: handed to fasthttp without a copy.
		c.Response().SetBodyRaw(workspace.AppendNamesJSON(nil, names))
		return nil
	}
	entries, err := s.ws.List(rel, workspace.ListOptions{})
	if err != nil {
		return err
	}
	return c.Send(workspace.AppendListJSON(nil, rel, entries, false))
}

func (s *Server) readFile(c *fiber.Ctx) error {
	rel, err := queryPath(c, "path")
	if err != nil {
		return err
	}
	f, err := s.ws.Read(rel)
	if err != nil {
		return err
	}
	etag := workspace.ETag(f.Sum)
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentType, fiber.MIMEOctetStream)
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && inm == etag {
		if f.Reader != nil {
			f.Reader.Close()
		}
		return c.SendStatus(fiber.StatusNotModified)
	}
	if f.Reader != nil {
		// fasthttp closes the reader once the body is sent.
		return c.SendStream(f.Reader, int(f.Info.Size()))
	}
	return c.Send(f.Data)
}

func (s *Server) writeFile(c *fiber.Ctx) error {
	rel, err := queryPath(c, "path")
	if err != nil {
		return err
	}
	res, err := s.ws.Write(rel, bytes.NewReader(c.Body()), workspace.WriteOptions{
		IfMatch:     c.Get(fiber.HeaderIfMatch),
		IfNoneMatch: c.Get(fiber.HeaderIfNoneMatch),
		MakeParents: c.QueryBool("mkdirs"),
	})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderETag, workspace.ETag(res.Sum))
	status := fiber.StatusOK
	if res.Created {
		status = fiber.StatusCreated
	}
	return c.Status(status).JSON(res)
}

func (s *Server) deleteFile(c *fiber.Ctx) error {
	rel, err := queryPath(c, "path")
	if err != nil {
		return err
	}
	recursive, err := boolParam(c.Query("recursive"))
	if err != nil {
		return err
	}
	if err := s.ws.Remove(rel, recursive); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"path": rel})
}

func boolParam(v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, apierr.BadRequest("%q is not a boolean (use true or false)", v)
	}
	return b, nil
}

// bodyJSON decodes the request's JSON body into v with a clear 400 on error.
func bodyJSON(c *fiber.Ctx, v any) error {
	if len(c.Body()) == 0 {
		return apierr.BadRequest("a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apierr.BadRequest("invalid JSON body: %v", err)
	}
	return nil
}

func (s *Server) mkdir(c *fiber.Ctx) error {
	var req struct {
		Path    string `json:"path"`
		Parents bool   `json:"parents"`
	}
	if err := bodyJSON(c, &req); err != nil {
		return err
	}
	rel, err := workspace.Clean(req.Path)
	if err != nil {
		return err
	}
	if err := s.ws.Mkdir(rel, req.Parents); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"path": rel})
}

func (s *Server) move(c *fiber.Ctx) error {
	var req struct {
		From      string `json:"from"`
		To        string `json:"to"`
		Overwrite bool   `json:"overwrite"`
	}
	if err := bodyJSON(c, &req); err != nil {
		return err
	}
	from, err := workspace.Clean(req.From)
	if err != nil {
		return err
	}
	to, err := workspace.Clean(req.To)
	if err != nil {
		return err
	}
	if err := s.ws.Move(from, to, req.Overwrite); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"from": from, "to": to})
}

// startWatch starts the shared watcher on first use, so a sessiond nobody
// watches spends no inotify watches.
func (s *Server) startWatch(c *fiber.Ctx) error {
	if _, err := s.sharedWatcher(); err != nil {
		return apierr.Internal("file watching is unavailable: %v", err)
	}
	return c.Next()
}

// sharedWatcher is the one watcher of the workspace, for the files API's
// event stream and the quick-open index, started on first use.
func (s *Server) sharedWatcher() (*watch.Watcher, error) {
	s.watchOnce.Do(func() {
		s.watcher, s.watchErr = watch.New(s.ws.Dir(), s.opts.Watch)
	})
	return s.watcher, s.watchErr
}

func (s *Server) watchStream(conn *websocket.Conn) {
	events, cancel := s.watcher.Subscribe()
	defer cancel()
	closed := readUntilClose(conn)
	for {
		select {
		case batch, ok := <-events:
			if !ok {
				closeWith(conn, websocket.CloseTryAgainLater, "watcher stopped; reconnect")
				return
			}
			if err := conn.WriteJSON(batch); err != nil {
				return
			}
		case <-closed:
			return
		}
	}
}

// readUntilClose drains client frames (control frames need reading to be
// answered) and reports when the client goes away.
func readUntilClose(conn *websocket.Conn) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	return done
}

func closeWith(conn *websocket.Conn, code int, reason string) {
	_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason))
}
