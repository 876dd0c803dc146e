package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"

	"gatewave.dev/shared/fleetproto"
)

// Dial connects to the container's sessiond socket (see dialSocket: the
// container cannot redirect it).
func (p *Pool) Dial(ctx context.Context, id string) (net.Conn, error) {
	c, ok := p.Get(id)
	if !ok {
		return nil, fmt.Errorf("dial %s: no such container", id)
	}
	return p.dial(ctx, c, "sessiond.sock")
}

func (p *Pool) dial(ctx context.Context, c Container, sock string) (net.Conn, error) {
	return p.dialContainer(ctx, c, sock)
}

// controlClient talks HTTP to one of the container's sockets.
func (p *Pool) controlClient(c Container, sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return p.dial(ctx, c, sock) },
		DisableKeepAlives: true,
	}}
}

// ControlError is an error answer of sessiond's control plane.
type ControlError struct {
	Status  int
	Code    string
	Message string
}

func (e *ControlError) Error() string {
	return fmt.Sprintf("sessiond %s (%d): %s", e.Code, e.Status, e.Message)
}

func readControlError(resp *http.Response) error {
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &body) != nil || body.Error.Code == "" {
		return &ControlError{Status: resp.StatusCode, Code: "http", Message: string(b)}
	}
	return &ControlError{Status: resp.StatusCode, Code: body.Error.Code, Message: body.Error.Message}
}

// RestoreArgs say what a claimed container's workspace is restored to.
type RestoreArgs struct {
	Origin   string // the origin remote's URL, without credentials
	Branch   string // the branch to check out when there is no save
	Save     string // the autosave resumed ("" none)
	Snapshot string // the snapshot it names ("" none, or an older autosave)
	// Identity, when set, is recorded as the repo's user.name and
	// user.email (sessiond validates it and keeps one the repo has).
	Identity *fleetproto.GitIdentity
}

// RestoreResult is what sessiond checked out.
type RestoreResult struct {
	Branch  string `json:"branch"`
	Head    string `json:"head"`
	Resumed string `json:"resumed"`
}

// Restore streams a resume stream (savefmt: the user's branches and the
// snapshot to resume) into the claimed container's empty workspace
// through sessiond's control socket; sessiond unpacks and checks it out
// as the user.
func (p *Pool) Restore(ctx context.Context, id string, a RestoreArgs, stream io.Reader) (RestoreResult, error) {
	var res RestoreResult
	c, ok := p.Get(id)
	if !ok || c.State != Claimed {
		return res, fmt.Errorf("restore %s: not a claimed container", id)
	}
	q := url.Values{}
	for k, v := range map[string]string{"origin": a.Origin, "branch": a.Branch, "save": a.Save, "snapshot": a.Snapshot} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if a.Identity != nil {
		q.Set("user_name", a.Identity.Name)
		q.Set("user_email", a.Identity.Email)
	}
	resp, err := p.callControl(ctx, c, "restore", http.MethodPost, "/v1/restore?"+q.Encode(), stream)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&res); err != nil {
		return res, fmt.Errorf("restore %s: result: %w", c.Name, err)
	}
	return res, nil
}

// callControl sends one request to the container's control socket,
// with its token (and body, as a byte stream, when there is one). A
// non-200 answer is an error naming what was asked; otherwise the
// caller reads and closes the body.
func (p *Pool) callControl(ctx context.Context, c Container, what, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://sessiond"+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, c.Name, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := p.controlClient(c, "control.sock").Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, c.Name, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %w", what, c.Name, readControlError(resp))
	}
	return resp, nil
}

// Sink receives a snapshot bundle. Reset empties it, for a second try
// after a first one failed part-way.
type Sink interface {
	io.Writer
	Reset() error
}

// SnapshotWorkspace writes a snapshot bundle of the container's workspace to dst
// (have: commits the receiver has, left out). A running, claimed
// container is asked through its control socket; a stopped one, or one
// that cannot answer (its pids limit reached, say), is snapshotted from
// its disk in a one-off container (see saver.go). Either way git runs as
// the user, inside a container, never on the node.
func (p *Pool) SnapshotWorkspace(ctx context.Context, id string, have []string, dst Sink) error {
	c, ok := p.Get(id)
	if !ok {
		return fmt.Errorf("snapshot %s: no such container", id)
	}
	if c.State == Claimed {
		err := p.liveSnapshot(ctx, c, have, dst)
		if err == nil || ctx.Err() != nil {
			return err
		}
		p.log.Warn("live snapshot failed; snapshotting the disk instead", "container", c.Name, "err", err)
		if err := dst.Reset(); err != nil {
			return err
		}
	}
	return p.offlineSnapshot(ctx, c, have, dst)
}

func (p *Pool) liveSnapshot(ctx context.Context, c Container, have []string, dst io.Writer) error {
	q := url.Values{"have": have}
	resp, err := p.callControl(ctx, c, "snapshot", http.MethodPost, "/v1/snapshot?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(dst, resp.Body); err != nil {
		return fmt.Errorf("snapshot %s: %w", c.Name, err)
	}
	return nil
}

// ErrTooBig is wrapped when a snapshot exceeds its sink's limit.
var ErrTooBig = errors.New("workspace snapshot too big")

// FileSink is a Sink on a file, refusing to grow past Max bytes, so a
// container cannot fill the node's disk through its snapshot.
type FileSink struct {
	F   *os.File
	Max int64
	n   int64
}

func (s *FileSink) Write(b []byte) (int, error) {
	if s.n+int64(len(b)) > s.Max {
		return 0, fmt.Errorf("%w (over %d MiB)", ErrTooBig, s.Max>>20)
	}
	n, err := s.F.Write(b)
	s.n += int64(n)
	return n, err
}

// Reset empties the file.
func (s *FileSink) Reset() error {
	s.n = 0
	if err := s.F.Truncate(0); err != nil {
		return err
	}
	_, err := s.F.Seek(0, io.SeekStart)
	return err
}
