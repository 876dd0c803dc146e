package nixcache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// PushOptions says what Push uploads and where.
type PushOptions struct {
	// URL is the cloud's base URL (the cache is at URL + Prefix). Required.
	URL string
	// Token is the admin token, sent as Authorization: Bearer. Required.
	Token string
	// Dir is a file:// binary cache that `nix copy --to
	// 'file://DIR?compression=none'` wrote. Required.
	Dir string
	// Client: nil means http.DefaultClient.
	Client *http.Client
}

// Push uploads every path in a local file:// binary cache: the NARs first,
// then the narinfos, each after the ones it references, so the cloud
// always knows a path's references when it signs it. It returns the store
// paths uploaded.
func Push(ctx context.Context, o PushOptions) ([]string, error) {
	if o.URL == "" || o.Token == "" || o.Dir == "" {
		return nil, fmt.Errorf("nix push: URL, Token and Dir are required")
	}
	if o.Client == nil {
		o.Client = http.DefaultClient
	}
	files, err := filepath.Glob(filepath.Join(o.Dir, "*.narinfo"))
	if err != nil {
		return nil, err
	}
	infos := map[string]*NarInfo{}
	texts := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		n, err := ParseNarInfo(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		infos[n.Hash()], texts[n.Hash()] = n, string(b)
	}
	for _, n := range infos {
		nar, err := os.ReadFile(filepath.Join(o.Dir, "nar", n.NarFile()))
		if err != nil {
			return nil, fmt.Errorf("nix push: %w", err)
		}
		if err := put(ctx, o, "nar/"+n.NarFile(), nar); err != nil {
			return nil, err
		}
	}
	var done []string
	sent := map[string]bool{}
	var send func(h string, depth int) error
	send = func(h string, depth int) error {
		n := infos[h]
		if sent[h] || n == nil {
			return nil // not in this batch: the cloud checks it is in the cache
		}
		if depth > len(infos) {
			return fmt.Errorf("nix push: reference cycle at %s", n.StorePath)
		}
		for _, r := range n.References {
			if r[:32] != h {
				if err := send(r[:32], depth+1); err != nil {
					return err
				}
			}
		}
		if err := put(ctx, o, h+".narinfo", []byte(texts[h])); err != nil {
			return err
		}
		sent[h] = true
		done = append(done, n.StorePath)
		return nil
	}
	for h := range infos {
		if err := send(h, 0); err != nil {
			return done, err
		}
	}
	return done, nil
}

func put(ctx context.Context, o PushOptions, name string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimSuffix(o.URL, "/")+Prefix+"/"+name, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+o.Token)
	resp, err := o.Client.Do(req)
	if err != nil {
		return fmt.Errorf("nix push %s: %w", name, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("nix push %s: %s: %s", name, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
