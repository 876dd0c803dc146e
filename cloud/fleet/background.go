package fleet

import (
	"context"
	"encoding/json"
	"time"

	"gatewave.dev/cloud/store"
	"gatewave.dev/shared/fleetproto"
)

// maxBatch caps one heartbeat write; at 10,000 nodes and 15 s that is
// about one write per second anyway.
const maxBatch = 5000

// runBatcher collects heartbeats and writes them in batches, one
// statement per FlushInterval (or per maxBatch nodes), so 10,000 nodes at
// 15 s cost about one transaction a second, not 667.
func (h *Hub) runBatcher(ctx context.Context) {
	t := time.NewTicker(h.opts.FlushInterval)
	defer t.Stop()
	pending := map[int64]time.Time{}
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		batch := make([]store.Heartbeat, 0, len(pending))
		for id, at := range pending {
			batch = append(batch, store.Heartbeat{NodeID: id, At: at})
		}
		wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.store.RecordHeartbeats(wctx, batch); err != nil {
			h.log.Error("write heartbeats", "err", err, "nodes", len(batch))
			return err // keep them pending; the next flush retries
		}
		h.m.flushes.Inc()
		clear(pending)
		return nil
	}
	add := func(b store.Heartbeat) {
		if at, ok := pending[b.NodeID]; !ok || b.At.After(at) {
			pending[b.NodeID] = b.At
		}
	}
	for {
		select {
		case b := <-h.hb:
			add(b)
			if len(pending) >= maxBatch {
				_ = flush()
			}
		case <-t.C:
			_ = flush()
		case done := <-h.flushRq:
			for drained := false; !drained; {
				select {
				case b := <-h.hb:
					add(b)
				default:
					drained = true
				}
			}
			done <- flush()
		case <-ctx.Done():
			for {
				select {
				case b := <-h.hb:
					add(b)
				default:
					_ = flush()
					return
				}
			}
		}
	}
}

// Flush writes heartbeats received so far. Run must be running.
func (h *Hub) Flush(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case h.flushRq <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hub) runSweeper(ctx context.Context) {
	t := time.NewTicker(h.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := h.replicaHeartbeat(ctx); err != nil && ctx.Err() == nil {
				h.log.Error("replica heartbeat", "err", err)
			}
			if _, err := h.Sweep(ctx); err != nil && ctx.Err() == nil {
				h.log.Error("offline sweep", "err", err)
			}
			if ids, err := h.store.SweepReplicas(ctx, h.opts.Replica, h.opts.OfflineAfter); err != nil && ctx.Err() == nil {
				h.log.Error("dead replica sweep", "err", err)
			} else if len(ids) > 0 {
				h.log.Warn("let go of nodes held by dead replicas", "ids", ids)
			}
		}
	}
}

// replicaHeartbeat records this replica's liveness. If another replica
// took it for dead meanwhile (its row is gone, and with it the nodes it
// held), it registers again and claims back the links it still holds.
func (h *Hub) replicaHeartbeat(ctx context.Context) error {
	alive, err := h.store.ReplicaHeartbeat(ctx, h.opts.Replica)
	if err != nil || alive {
		return err
	}
	h.log.Warn("this replica was taken for dead; registering again")
	if err := h.store.RegisterReplica(ctx, h.opts.Replica, h.opts.InternalURL, h.now()); err != nil {
		return err
	}
	// Under the read lock: a link that ends meanwhile is removed (and its
	// row cleared) only after the claim, never before it.
	h.mu.RLock()
	defer h.mu.RUnlock()
	links := make([]store.Link, 0, len(h.byID))
	for _, nc := range h.byID {
		links = append(links, store.Link{NodeID: nc.id, ConnectedAt: nc.connectedAt})
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return h.store.Reclaim(rctx, h.opts.Replica, links)
}

// Sweep marks nodes offline whose last heartbeat is older than
// OfflineAfter, unless this replica is still in its start-up grace period.
// It returns the IDs it marked. Several replicas may sweep at once: the
// store lets one win and the others do nothing.
func (h *Hub) Sweep(ctx context.Context) ([]int64, error) {
	now := h.now()
	if now.Before(h.started.Add(h.opts.Grace)) {
		return nil, nil
	}
	ids, err := h.store.SweepOffline(ctx, now.Add(-h.opts.OfflineAfter), h.opts.Replica)
	if err != nil {
		return nil, err
	}
	if len(ids) > 0 {
		h.m.offline.Add(float64(len(ids)))
		h.log.Info("marked nodes offline", "count", len(ids), "ids", ids)
	}
	return ids, nil
}

// runListener follows the store's notification channel: a revoked node is
// disconnected at once wherever it is connected, and a node that another
// replica took over is let go here.
func (h *Hub) runListener(ctx context.Context) {
	for ctx.Err() == nil {
		err := h.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		h.log.Error("fleet notifications lost; reconnecting", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (h *Hub) listen(ctx context.Context) error {
	pc, err := h.store.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection that was LISTENing must not go back to the pool.
	conn := pc.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+store.Channel); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var nt store.Notice
		if err := json.Unmarshal([]byte(n.Payload), &nt); err != nil {
			h.log.Warn("bad fleet notification", "payload", n.Payload)
			continue
		}
		switch nt.Op {
		case "revoke":
			if h.Disconnect(nt.NodeID, fleetproto.CloseRevoked, "node revoked") {
				h.log.Info("disconnected revoked node", "node_id", nt.NodeID)
			}
		case "takeover":
			if nt.Replica != h.opts.Replica {
				h.Disconnect(nt.NodeID, fleetproto.CloseReplaced, "connected to another replica")
			}
		}
	}
}
