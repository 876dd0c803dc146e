package cli

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"gatewave.dev/nodegw/nixproxy"
)

// nixCache starts the node's side of the Nix cache path (nodegw/nixproxy)
// in dir and returns dir for the pool to mount, or "" when it cannot. The
// cloud's key is fetched in the background, retried until the cloud
// answers; a cloud without a cache stops it (containers then see an empty
// directory, and nix in them has no substituter).
func nixCache(ctx context.Context, cloud, token, dir string, log *slog.Logger) string {
	if !nixCacheForSessions {
		log.Info("nix cache: none for sessions on this node: a Windows host's unix socket cannot reach a container in Docker Desktop's VM")
		return ""
	}
	p, err := nixproxy.New(nixproxy.Options{CloudURL: cloud, Token: token, Dir: dir, Logger: log})
	if err != nil {
		log.Warn("nix cache: none for sessions", "err", err)
		return ""
	}
	go func() {
		for {
			key, err := p.FetchKey(ctx)
			if err == nil {
				log.Info("nix cache: sessions substitute from the cloud", "public_key", key)
				break
			}
			if errors.Is(err, nixproxy.ErrNoCache) {
				log.Info("nix cache: the cloud serves none")
				return
			}
			log.Warn("nix cache: cannot fetch the cloud's key; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(30 * time.Second):
			}
		}
		if err := p.Serve(ctx); err != nil {
			log.Error("nix cache socket", "err", err)
		}
	}()
	return dir
}
