// Package control is sessiond's control plane: the routes the node's
// gateway uses to restore a workspace into a fresh container and to
// snapshot it, on a unix socket of their own that the browser tunnel never
// reaches. It speaks plain net/http so that bundles of any size stream
// through in both directions without being buffered.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"gatewave.dev/sessiond/snapshot"
	"gatewave.dev/shared/fleetproto"
	"gatewave.dev/shared/httpauth"
)

// Options configure a Handler. Snapshot.Root and Token are required.
type Options struct {
	// Snapshot says where the workspace is and how to run git.
	Snapshot snapshot.Options
	// Token authenticates the node (Authorization: Bearer only).
	Token string
	// Timeout bounds one snapshot or restore; 0 means 10 minutes.
	Timeout time.Duration
	// Logger is the one logger; nil means slog.Default().
	Logger *slog.Logger
}

// Paths of the control routes.
const (
	PathSnapshot = "/v1/snapshot" // POST ?have=SHA&have=SHA → a snapshot bundle
	PathRestore  = "/v1/restore"  // POST resume stream ?origin=&branch=&save=&snapshot=&user_name=&user_email= → snapshot.Result
	PathHealth   = "/healthz"
)

// New returns the control plane's handler.
func New(o Options) (http.Handler, error) {
	if o.Snapshot.Root == "" || o.Token == "" {
		return nil, errors.New("control: Snapshot.Root and Token are required")
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	h := &handler{o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathHealth, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("POST "+PathSnapshot, h.auth(h.snapshot))
	mux.HandleFunc("POST "+PathRestore, h.auth(h.restore))
	mux.HandleFunc("GET "+PathFetch, h.auth(h.fetchHave))
	mux.HandleFunc("POST "+PathFetch, h.auth(h.fetch))
	return mux, nil
}

type handler struct{ o Options }

func fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (h *handler) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !httpauth.Equal(got, h.o.Token) {
			fail(w, http.StatusUnauthorized, "unauthorized", "a valid control token is required")
			return
		}
		next(w, r)
	}
}

func (h *handler) snapshot(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.o.Timeout)
	defer cancel()
	// The bundle streams as git writes it; an error after the first byte
	// can only cut the stream short, which the node detects (a truncated
	// bundle does not verify) and reports.
	start := time.Now()
	cw := &countingWriter{w: w}
	meta, err := snapshot.Create(ctx, h.o.Snapshot, r.URL.Query()["have"], cw)
	if err != nil {
		h.o.Logger.Warn("snapshot", "err", err)
		if cw.n == 0 {
			fail(w, http.StatusUnprocessableEntity, "snapshot_failed", err.Error())
			return
		}
		panic(http.ErrAbortHandler) // drop the connection: the stream is incomplete
	}
	h.o.Logger.Info("snapshot", "branch", meta.Branch, "head", meta.Head, "took", time.Since(start))
}

type countingWriter struct {
	w http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.n == 0 {
		c.w.Header().Set("Content-Type", "application/x-git-bundle")
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (h *handler) restore(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.o.Timeout)
	defer cancel()
	q := r.URL.Query()
	ro := snapshot.RestoreOptions{Origin: q.Get("origin"), Branch: q.Get("branch"), Save: q.Get("save"), Snapshot: q.Get("snapshot")}
	if q.Has("user_name") || q.Has("user_email") {
		// The account's identity, checked by Restore before anything is
		// written (a bad one fails the restore rather than going in half).
		ro.Identity = &fleetproto.GitIdentity{Name: q.Get("user_name"), Email: q.Get("user_email")}
	}
	start := time.Now()
	res, err := snapshot.Restore(ctx, h.o.Snapshot, ro, r.Body)
	if err != nil {
		h.o.Logger.Warn("restore", "err", err)
		fail(w, http.StatusUnprocessableEntity, "restore_failed", err.Error())
		return
	}
	h.o.Logger.Info("restored", "branch", res.Branch, "head", res.Head, "resumed", res.Resumed, "took", time.Since(start))
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}
