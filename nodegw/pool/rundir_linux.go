package pool

import (
	"fmt"
	"os"
	"path/filepath"
)

// prepareNodeRunDir makes the container's socket directory: the node's, owned
// by the container's root with mode 0700, so the user inside (uid 1000)
// can neither read the token nor put anything where the node dials.
func (p *Pool) prepareNodeRunDir(c Container) error {
	dir := p.runDir(c.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("run dir %q: %w", dir, err)
	}
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte(c.Token+"\n"), 0o600); err != nil {
		return fmt.Errorf("write token: %w", err)
	}
	for _, f := range []string{dir, tok} {
		if err := os.Lchown(f, p.ids.rootUID(), p.ids.gid); err != nil {
			return fmt.Errorf("run dir: %w", err)
		}
	}
	return nil
}
