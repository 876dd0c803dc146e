package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"gatewave.dev/cloud/nixcache"
)

const nixUsage = `usage:
  cloud nix key [--data-dir DIR]     print the cache's public key (for nix.conf trusted-public-keys);
                                     with GATEWAVE_DATA_DIR the key there (made if none yet),
                                     else the one the cloud at GATEWAVE_URL serves
  cloud nix push STORE-PATH...       nix copy the paths (and their closure) from this machine's
                                     store to the cloud's cache, which checks and signs them
  cloud nix push --dir DIR           push a file:// cache nix copy --to 'file://DIR?compression=none' wrote
  (push: GATEWAVE_URL, default http://127.0.0.1:8480, with GATEWAVE_ADMIN_TOKEN)
`

func nixCmd(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, nixUsage)
		return errors.New("nix: a subcommand is required")
	}
	switch args[0] {
	case "key":
		return nixKey(ctx, args[1:], env)
	case "push":
		return nixPush(ctx, args[1:], env)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, nixUsage)
		return nil
	}
	fmt.Fprint(env.Stderr, nixUsage)
	return fmt.Errorf("nix: unknown subcommand %q", args[0])
}

func nixKey(ctx context.Context, args []string, env Env) error {
	fs, _ := newFlags("nix key", env)
	dataDir := fs.String("data-dir", envOr(env, "GATEWAVE_DATA_DIR", ""), "the cloud's data dir (env GATEWAVE_DATA_DIR); the key is DATA_DIR/nix-cache/secret.key")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dataDir != "" {
		nc, err := nixcache.LoadOrCreateKey(filepath.Join(*dataDir, "nix-cache", "secret.key"), "gatewave-1")
		if err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, nc.PublicKey())
		return nil
	}
	a, err := newAPIClient(env)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+nixcache.Prefix+"/public-key", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("nix key: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("nix key: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	fmt.Fprint(env.Stdout, string(b))
	return nil
}

func nixPush(ctx context.Context, args []string, env Env) error {
	fs, _ := newFlags("nix push", env)
	dir := fs.String("dir", "", "push this file:// cache instead of running nix copy")
	if err := fs.Parse(args); err != nil {
		return err
	}
	a, err := newAPIClient(env)
	if err != nil {
		return err
	}
	if (*dir == "") == (fs.NArg() == 0) {
		return errors.New("nix push: give store paths or --dir, not both")
	}
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "gatewave-nix-push-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		cmd := exec.CommandContext(ctx, "nix", append([]string{"--extra-experimental-features", "nix-command", "copy",
			"--to", "file://" + tmp + "?compression=none"}, fs.Args()...)...)
		cmd.Stdout, cmd.Stderr = env.Stderr, env.Stderr
		cmd.Env = nixEnv()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("nix copy: %w", err)
		}
		*dir = tmp
	}
	paths, err := nixcache.Push(ctx, nixcache.PushOptions{URL: a.base, Token: a.token, Dir: *dir, Client: a.hc})
	for _, p := range paths {
		fmt.Fprintln(env.Stdout, p)
	}
	return err
}

// nixEnv is nix copy's environment: this process's without the cloud's
// secrets (the admin token the push uses, DATABASE_URL, the object
// store's keys: every GATEWAVE_ setting), which nix and whatever it runs
// have no use for.
func nixEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return strings.HasPrefix(k, "GATEWAVE_") || k == "DATABASE_URL" || k == "PGPASSWORD"
	})
}
