package sessions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/cloud/accounts"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/fleetproto"
)

// Git push and pull in a cloud session: the IDE asks its own
// api/v1/git/push and api/v1/git/pull, and the cloud answers them here,
// for the session's owner (the tunnel checked), because the container
// holds neither the session's git credential nor a network. The node does
// the git work with that credential, on the session's own repo only
// (fleetproto.CommandGitPush, CommandGitFetch); a pull then asks the
// container's sessiond to merge what was fetched.
func init() {
	cloudRoutes["POST /api/v1/git/push"] = gitRemotePush
	cloudRoutes["POST /api/v1/git/pull"] = gitRemotePull
}

// gitRemoteBody is the push and pull request of the IDE.
type gitRemoteBody struct {
	Remote string `json:"remote"`
	Branch string `json:"branch"`
}

// gitRemoteRequest checks what a state-changing request from the IDE must
// be (a same-origin fetch sending JSON: a cross-site form can do neither)
// and decodes it.
func gitRemoteRequest(c *fiber.Ctx) (gitRemoteBody, error) {
	var b gitRemoteBody
	o := c.Get(fiber.HeaderOrigin)
	u, err := url.Parse(o)
	if o == "" || err != nil || u.Host == "" || !strings.EqualFold(u.Host, string(c.Request().Host())) {
		return b, apierr.Forbidden("origin %q is not allowed", o)
	}
	if ct, _, _ := strings.Cut(c.Get(fiber.HeaderContentType), ";"); strings.TrimSpace(strings.ToLower(ct)) != fiber.MIMEApplicationJSON {
		return b, apierr.New(fiber.StatusUnsupportedMediaType, "unsupported_media_type", "send JSON (Content-Type: application/json)")
	}
	d := json.NewDecoder(bytes.NewReader(c.Body()))
	d.DisallowUnknownFields()
	if err := d.Decode(&b); err != nil {
		return b, apierr.BadRequest("want {\"branch\": \"NAME\", \"remote\": \"origin\"}")
	}
	if b.Remote != "" && b.Remote != "origin" {
		return b, apierr.BadRequest("in the cloud, push and pull go to your own repo, the remote \"origin\"")
	}
	if !fleetproto.ValidGitBranch(b.Branch) {
		if strings.HasPrefix(b.Branch, fleetproto.AutosaveNamespace) || b.Branch == "ide" {
			return b, apierr.BadRequest("branches under %q are where the IDE saves your workspace; pick another branch", fleetproto.AutosaveNamespace)
		}
		return b, apierr.BadRequest("%q is not a branch name", b.Branch)
	}
	return b, nil
}

// gitRemoteCommand sends a git command to the node holding the session's
// container and decodes its result.
func gitRemoteCommand(s *Service, c *fiber.Ctx, r *route, name string, args any) (fleetproto.GitResult, error) {
	var res fleetproto.GitResult
	if r == nil {
		return res, apierr.New(fiber.StatusServiceUnavailable, "unavailable", "the session has no container right now; try again in a moment")
	}
	b, _ := json.Marshal(args)
	ctx, cancel := context.WithTimeout(c.UserContext(), s.opts.CommandTimeout)
	defer cancel()
	s.touch(r.session)
	ack, err := s.hub.Command(ctx, r.node, name, b)
	if err != nil {
		s.log.Warn("git command", "command", name, "session", r.session, "node", r.node, "err", err)
		return res, apierr.New(fiber.StatusBadGateway, "node", "the session's node did not answer; try again")
	}
	if !ack.OK {
		s.log.Warn("git command failed", "command", name, "session", r.session, "node", r.node, "err", ack.Error)
		return res, apierr.New(fiber.StatusBadGateway, "git_failed", "%s", ack.Error)
	}
	if err := json.Unmarshal(ack.Result, &res); err != nil {
		return res, apierr.New(fiber.StatusBadGateway, "node", "the node's answer is unreadable")
	}
	return res, nil
}

func gitRemotePush(s *Service, c *fiber.Ctx, se Session, u accounts.User, r *route) error {
	b, err := gitRemoteRequest(c)
	if err != nil {
		return err
	}
	if r == nil {
		return apierr.New(fiber.StatusServiceUnavailable, se.State, "session is %s", se.State)
	}
	res, err := gitRemoteCommand(s, c, r, fleetproto.CommandGitPush,
		fleetproto.GitPushArgs{Container: r.container, Session: r.session, Branch: b.Branch})
	if err != nil {
		return err
	}
	switch res.Refused {
	case "":
	case fleetproto.GitRejected:
		return apierr.New(fiber.StatusConflict, "rejected", "%s", res.Message).WithDetails(fiber.Map{"output": res.Output})
	case fleetproto.GitNoBranch:
		return apierr.New(fiber.StatusNotFound, "no_branch", "%s", res.Message)
	default:
		return apierr.New(fiber.StatusBadGateway, "git_failed", "%s", res.Message)
	}
	s.log.Info("git push", "session", r.session, "user", u.Name, "branch", b.Branch, "commit", res.Commit)
	return c.JSON(fiber.Map{"output": res.Output, "conflicts": []string{}, "commit": res.Commit})
}

func gitRemotePull(s *Service, c *fiber.Ctx, se Session, u accounts.User, r *route) error {
	b, err := gitRemoteRequest(c)
	if err != nil {
		return err
	}
	if r == nil {
		return apierr.New(fiber.StatusServiceUnavailable, se.State, "session is %s", se.State)
	}
	res, err := gitRemoteCommand(s, c, r, fleetproto.CommandGitFetch, fleetproto.GitFetchArgs{Container: r.container, Session: r.session})
	if err != nil {
		return err
	}
	if _, ok := res.Branches[b.Branch]; !ok {
		return apierr.New(fiber.StatusNotFound, "no_branch", "there is no branch %q in your repo", b.Branch)
	}
	// The merge is sessiond's (as the user, in the workspace); its answer
	// goes back as it is, with the fetch's output in front.
	body, _ := json.Marshal(map[string]string{"ref": "refs/remotes/origin/" + b.Branch})
	ctx, cancel := context.WithTimeout(c.UserContext(), s.opts.CommandTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://sessiond/api/v1/git/merge", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Host = c.Hostname()
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Content-Type", fiber.MIMEApplicationJSON)
	req.Header.Set("Origin", c.Get(fiber.HeaderOrigin))
	req.Header.Set("X-Forwarded-Prefix", "/s/"+r.session+"/")
	resp, err := r.transport.RoundTrip(req)
	if err != nil {
		s.log.Warn("git merge", "session", r.session, "err", err)
		return apierr.New(fiber.StatusBadGateway, "tunnel", "fetched, but the session's container did not answer the merge; try again")
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return apierr.New(fiber.StatusBadGateway, "tunnel", "fetched, but the merge's answer was cut short")
	}
	c.Status(resp.StatusCode)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	var m map[string]any
	if resp.StatusCode == http.StatusOK && json.Unmarshal(out, &m) == nil {
		merged, _ := m["output"].(string)
		m["output"] = strings.TrimSpace(res.Output + "\n" + merged)
		if m["conflicts"] == nil {
			m["conflicts"] = []string{}
		}
		s.log.Info("git pull", "session", r.session, "user", u.Name, "branch", b.Branch)
		return c.JSON(m)
	}
	if resp.StatusCode == http.StatusOK {
		return errors.New("git merge: sessiond's answer is not JSON")
	}
	return c.Send(out)
}
