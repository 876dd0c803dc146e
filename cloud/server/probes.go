package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"gatewave.dev/cloud/fleet"
	"gatewave.dev/cloud/store"
	"gatewave.dev/shared/apierr"
	"gatewave.dev/shared/fleetproto"
)

// Maintenance probes (issue 16, host.ssh), for operators with the admin
// token only:
//
//	POST /api/v1/nodes/:name/probe  {"probe": "uptime"}          → HostProbeResult
//	POST /api/v1/nodes/:name/exec   {"argv": [...], "timeout_ms": N} → HostProbeResult
//	GET  /api/v1/probes/audit?node=NAME&limit=N                  → {"audit": [...]}
//
// Every use is a host_probe_audit row, written before the command goes to
// the node and completed when it answers, so a use cut short midway is
// still on record (finished_at NULL). They run nothing a user gave and
// never touch tasks.

// auditHeader carries the audit row's id on probe and exec answers.
const auditHeader = "X-Gatewave-Audit-Id"

// execRefused begins the error a node started without --allow-exec
// answers host.exec with (nodegw/probes.ExecRefused).
const execRefused = "host.exec is not allowed on this node"

// probeTimeout bounds a probe's round trip (the node bounds the probe
// itself at 10 s); an exec gets its own timeout plus execSlack.
const (
	probeTimeout = 20 * time.Second
	execSlack    = 10 * time.Second
)

func (s *Server) mountProbes(app *fiber.App, admin fiber.Handler) {
	app.Post("/api/v1/nodes/:name/probe", admin, s.hostProbe)
	app.Post("/api/v1/nodes/:name/exec", admin, s.hostExec)
	app.Get("/api/v1/probes/audit", admin, s.probeAuditList)
}

func (s *Server) hostProbe(c *fiber.Ctx) error {
	var args fleetproto.HostProbeArgs
	if err := decodeStrict(c.Body(), &args); err != nil {
		return err
	}
	var invalid *apierr.Error
	if !slices.Contains(fleetproto.Probes, args.Probe) {
		invalid = apierr.BadRequest("unknown probe %q: want one of %s", args.Probe, strings.Join(fleetproto.Probes, ", ")).
			WithDetails(fiber.Map{"probes": fleetproto.Probes})
	}
	return s.runOnNode(c, "probe", fleetproto.CommandHostProbe, args, invalid, probeTimeout)
}

func (s *Server) hostExec(c *fiber.Ctx) error {
	var args fleetproto.HostExecArgs
	if err := decodeStrict(c.Body(), &args); err != nil {
		return err
	}
	var invalid *apierr.Error
	if err := args.Validate(); err != nil {
		invalid = apierr.BadRequest("%v", err)
	}
	return s.runOnNode(c, "exec", fleetproto.CommandHostExec, args, invalid,
		time.Duration(min(max(args.TimeoutMS, 0), fleetproto.MaxExecTimeoutMS))*time.Millisecond+execSlack)
}

// decodeStrict decodes a JSON body into v: one object, no unknown fields.
func decodeStrict(body []byte, v any) error {
	if err := fleetproto.DecodeStrict(body, v); err != nil {
		return apierr.BadRequest("request body: %v", err)
	}
	return nil
}

// runOnNode audits one use, sends it to the node unless it is refused
// (invalid arguments, an unknown or revoked node) and answers with the
// node's HostProbeResult.
func (s *Server) runOnNode(c *fiber.Ctx, kind, command string, args any, invalid *apierr.Error, timeout time.Duration) error {
	ctx := c.UserContext()
	name := c.Params("name")
	argsJSON, err := json.Marshal(args)
	if err != nil {
		return err
	}
	refusal := invalid
	var nodeID *int64
	n, err := s.Store.Get(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if refusal == nil {
			refusal = apierr.NotFound("no node named %q", name)
		}
	case err != nil:
		return err
	default:
		nodeID = &n.ID
		if refusal == nil && n.Status == "revoked" {
			refusal = apierr.Conflict("node %q is revoked", name)
		}
	}
	remote := c.IP()
	if s.Accounts != nil {
		remote = s.Accounts.ClientIP(c)
	}
	var id int64
	err = s.Store.Pool.QueryRow(ctx, `INSERT INTO host_probe_audit (actor, remote_addr, node_name, node_id, kind, request)
		VALUES ('admin-token', $1, $2, $3, $4, $5) RETURNING id`, remote, name, nodeID, kind, json.RawMessage(argsJSON)).Scan(&id)
	if err != nil {
		return fmt.Errorf("audit %s on %q: %w", kind, name, err)
	}
	c.Set(auditHeader, strconv.FormatInt(id, 10))
	if refusal != nil {
		s.finishAudit(ctx, id, nil, refusal.Message)
		return refusal
	}

	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ack, err := s.Hub.Command(cctx, name, command, argsJSON)
	var res fleetproto.HostProbeResult
	var fail *apierr.Error
	switch {
	case errors.Is(err, fleet.ErrNotConnected):
		fail = apierr.New(http.StatusConflict, "node_offline", "node %q is not connected", name)
	case errors.Is(err, context.DeadlineExceeded):
		fail = apierr.New(http.StatusGatewayTimeout, "node_timeout", "node %q did not answer within %v", name, timeout)
	case err != nil:
		fail = apierr.New(http.StatusBadGateway, "node_error", "%s on node %q: %v", kind, name, err)
	case !ack.OK && strings.HasPrefix(ack.Error, execRefused):
		fail = apierr.New(http.StatusForbidden, "exec_not_allowed", "node %q: %s", name, ack.Error)
	case !ack.OK:
		fail = apierr.New(http.StatusBadGateway, "node_error", "node %q: %s", name, ack.Error)
	default:
		if derr := decodeResult(ack.Result, &res); derr != nil {
			fail = apierr.New(http.StatusBadGateway, "node_error", "node %q answered %s with a bad result: %v", name, command, derr)
		}
	}
	if fail != nil {
		s.finishAudit(ctx, id, nil, fail.Message)
		return fail
	}
	s.finishAudit(ctx, id, &res, "")
	return c.JSON(res)
}

func decodeResult(b []byte, res *fleetproto.HostProbeResult) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(res); err != nil {
		return err
	}
	if len(res.Output) > 2*fleetproto.MaxProbeOutput {
		return fmt.Errorf("%d bytes of output, more than the node may send", len(res.Output))
	}
	return nil
}

// finishAudit completes row id: with the node's result, or refused or
// failed with msg. It runs even if the client went away.
func (s *Server) finishAudit(ctx context.Context, id int64, res *fleetproto.HostProbeResult, msg string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var err error
	if res != nil {
		_, err = s.Store.Pool.Exec(ctx, `UPDATE host_probe_audit SET ok = true, exit_code = $2, timed_out = $3,
			output_bytes = $4, finished_at = now() WHERE id = $1`, id, res.ExitCode, res.TimedOut, len(res.Output))
	} else {
		_, err = s.Store.Pool.Exec(ctx, `UPDATE host_probe_audit SET ok = false, error = $2, finished_at = now() WHERE id = $1`, id, msg)
	}
	if err != nil {
		s.log.Error("complete probe audit row", "id", id, "err", err)
	}
}

// ProbeAudit is a host_probe_audit row as the audit API lists it.
type ProbeAudit struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	RemoteAddr string          `json:"remote_addr"`
	Node       string          `json:"node"`
	Kind       string          `json:"kind"`
	Request    json.RawMessage `json:"request"`
	// OK is nil until the use finished.
	OK          *bool      `json:"ok"`
	ExitCode    *int       `json:"exit_code"`
	TimedOut    bool       `json:"timed_out"`
	OutputBytes *int       `json:"output_bytes"`
	Error       string     `json:"error"`
	FinishedAt  *time.Time `json:"finished_at"`
}

// Audit listing bounds.
const (
	defaultAuditLimit = 50
	maxAuditLimit     = 1000
)

func (s *Server) probeAuditList(c *fiber.Ctx) error {
	limit := defaultAuditLimit
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAuditLimit {
			return apierr.BadRequest("limit %q: want a number from 1 to %d", v, maxAuditLimit)
		}
		limit = n
	}
	rows, err := s.Store.Pool.Query(c.UserContext(), `SELECT id, at, actor, remote_addr, node_name, kind, request, ok,
		exit_code, timed_out, output_bytes, error, finished_at FROM host_probe_audit
		WHERE $1 = '' OR node_name = $1 ORDER BY id DESC LIMIT $2`, c.Query("node"), limit)
	if err != nil {
		return fmt.Errorf("list probe audit: %w", err)
	}
	defer rows.Close()
	out := []ProbeAudit{}
	for rows.Next() {
		var a ProbeAudit
		if err := rows.Scan(&a.ID, &a.At, &a.Actor, &a.RemoteAddr, &a.Node, &a.Kind, &a.Request, &a.OK,
			&a.ExitCode, &a.TimedOut, &a.OutputBytes, &a.Error, &a.FinishedAt); err != nil {
			return fmt.Errorf("list probe audit: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list probe audit: %w", err)
	}
	return c.JSON(fiber.Map{"audit": out})
}
