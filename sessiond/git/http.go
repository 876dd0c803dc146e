package git

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/shared/apierr"
)

// Mount adds the /git routes to the /api/v1 group:
//
//	GET  /git/status                      → Status
//	GET  /git/diff?path=P[&staged=true]   → Diff
//	POST /git/stage    {"paths":[...]} or {"hunk":{"path","id"}}   → Status
//	POST /git/unstage  {"paths":[...]} or {"hunk":{"path","id"}}   → Status
//	POST /git/discard  {"paths":[...]} or {"hunk":{"path","id"}}   → Status
//	POST /git/commit   {"message","amend"}                         → CommitResult
//	GET  /git/branches                    → {"branches":[Branch]}
//	POST /git/branches {"name","from"?,"checkout"?}                → {"branches":[...]}
//	POST /git/switch   {"branch"}                                   → Status
//	GET  /git/log?[path=P&]skip=N&limit=N → LogPage
//	GET  /git/blame?path=P&line=N         → Blame
//	POST /git/push     {"remote"?,"branch"?}                        → SyncResult
//	POST /git/pull     {"remote"?,"branch"?}                        → SyncResult
//	POST /git/merge    {"ref"}                                      → SyncResult
func (s *Service) Mount(api fiber.Router) {
	g := api.Group("/git")
	g.Get("/status", s.handleStatus)
	g.Get("/diff", s.handleDiff)
	g.Post("/stage", s.handleFiles(s.Stage, s.StageHunk))
	g.Post("/unstage", s.handleFiles(s.Unstage, s.UnstageHunk))
	g.Post("/discard", s.handleFiles(s.Discard, s.DiscardHunk))
	g.Post("/commit", s.handleCommit)
	g.Get("/branches", s.handleBranches)
	g.Post("/branches", s.handleCreateBranch)
	g.Post("/switch", s.handleSwitch)
	g.Get("/log", s.handleLog)
	g.Get("/blame", s.handleBlame)
	g.Post("/push", s.handleRemote(s.Push))
	g.Post("/pull", s.handleRemote(s.Pull))
	g.Post("/merge", s.handleMerge)
}

func decode(c *fiber.Ctx, v any) error {
	if len(c.Body()) == 0 {
		return apierr.BadRequest("a JSON body is required")
	}
	if err := json.Unmarshal(c.Body(), v); err != nil {
		return apierr.BadRequest("invalid JSON body: %v", err)
	}
	return nil
}

func (s *Service) handleStatus(c *fiber.Ctx) error {
	st, err := s.Status(c.Context())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(st)
}

func (s *Service) handleDiff(c *fiber.Ctx) error {
	d, err := s.Diff(c.Context(), c.Query("path"), c.Query("staged") == "true")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(d)
}

type filesRequest struct {
	Paths []string `json:"paths"`
	Hunk  *HunkRef `json:"hunk"`
}

func (s *Service) handleFiles(files func(ctx context.Context, paths []string) error, hunk func(ctx context.Context, ref HunkRef) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req filesRequest
		if err := decode(c, &req); err != nil {
			return err
		}
		var err error
		switch {
		case req.Hunk != nil && len(req.Paths) > 0:
			return apierr.BadRequest(`give "paths" or "hunk", not both`)
		case req.Hunk != nil:
			err = hunk(c.Context(), *req.Hunk)
		default:
			err = files(c.Context(), req.Paths)
		}
		if err != nil {
			return err
		}
		return s.handleStatus(c)
	}
}

func (s *Service) handleCommit(c *fiber.Ctx) error {
	var req CommitRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	res, err := s.Commit(c.Context(), req)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

func (s *Service) handleBranches(c *fiber.Ctx) error {
	bs, err := s.Branches(c.Context())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"branches": bs})
}

func (s *Service) handleCreateBranch(c *fiber.Ctx) error {
	var req struct {
		Name     string `json:"name"`
		From     string `json:"from"`
		Checkout bool   `json:"checkout"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.CreateBranch(c.Context(), req.Name, req.From, req.Checkout); err != nil {
		return err
	}
	return s.handleBranches(c)
}

func (s *Service) handleSwitch(c *fiber.Ctx) error {
	var req struct {
		Branch string `json:"branch"`
	}
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.Switch(c.Context(), req.Branch); err != nil {
		return err
	}
	return s.handleStatus(c)
}

func intQuery(c *fiber.Ctx, name string, def int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, apierr.BadRequest("%s %q is not an integer", name, v)
	}
	return n, nil
}

func (s *Service) handleLog(c *fiber.Ctx) error {
	skip, err := intQuery(c, "skip", 0)
	if err != nil {
		return err
	}
	limit, err := intQuery(c, "limit", 50)
	if err != nil {
		return err
	}
	page, err := s.Log(c.Context(), c.Query("path"), skip, limit)
	if err != nil {
		return err
	}
	return c.JSON(page)
}

func (s *Service) handleBlame(c *fiber.Ctx) error {
	line, err := intQuery(c, "line", 0)
	if err != nil {
		return err
	}
	b, err := s.BlameLine(c.Context(), c.Query("path"), line)
	if err != nil {
		return err
	}
	return c.JSON(b)
}

func (s *Service) handleRemote(op func(ctx context.Context, req RemoteRequest) (*SyncResult, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var req RemoteRequest
		if len(c.Body()) > 0 {
			if err := decode(c, &req); err != nil {
				return err
			}
		}
		res, err := op(c.Context(), req)
		if err != nil {
			return err
		}
		return c.JSON(res)
	}
}

func (s *Service) handleMerge(c *fiber.Ctx) error {
	var req MergeRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	res, err := s.Merge(c.Context(), req)
	if err != nil {
		return err
	}
	return c.JSON(res)
}
