package pool

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"gatewave.dev/shared/savefmt"
)

// WorkspaceHave asks the claimed container which commits its repository
// has (sessiond's GET /v1/fetch). The answer is the container's: only
// well-formed commit ids are kept, at most max of them, and the caller
// uses them only to leave objects out of what it sends.
func (p *Pool) WorkspaceHave(ctx context.Context, id string, max int) ([]string, error) {
	c, ok := p.Get(id)
	if !ok || c.State != Claimed {
		return nil, fmt.Errorf("fetch %s: not a claimed container", id)
	}
	resp, err := p.callControl(ctx, c, "fetch", http.MethodGet, "/v1/fetch", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Have []string `json:"have"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("fetch %s: what it has: %w", c.Name, err)
	}
	var have []string
	for _, h := range body.Have {
		if savefmt.ValidCommit(h) && len(have) < max {
			have = append(have, h)
		}
	}
	return have, nil
}

// FetchInto streams a resume stream of the user's branches (savefmt)
// into the claimed container's repository as refs/remotes/origin/*
// (sessiond's POST /v1/fetch), and returns the refs it updated.
func (p *Pool) FetchInto(ctx context.Context, id string, stream io.Reader) ([]string, error) {
	c, ok := p.Get(id)
	if !ok || c.State != Claimed {
		return nil, fmt.Errorf("fetch %s: not a claimed container", id)
	}
	resp, err := p.callControl(ctx, c, "fetch", http.MethodPost, "/v1/fetch", stream)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Updated []string `json:"updated"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("fetch %s: result: %w", c.Name, err)
	}
	return body.Updated, nil
}
