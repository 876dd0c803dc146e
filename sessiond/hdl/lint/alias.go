package lint

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// aliaser reaches workspace paths a tool cannot take as written through
// symlinks in a temporary directory, and maps the paths the tool prints
// back.
type aliaser struct {
	root, tmp string
	safe      func(string) bool
	links     []alias
}

type alias struct{ link, orig string }

// name returns how to write workspace path p (a file or, with dir, a
// directory) for the tool.
func (a *aliaser) name(p string, dir bool) (string, error) {
	if a.safe(p) {
		return toolArg(p), nil
	}
	link := filepath.Join(a.tmp, fmt.Sprintf("a%d", len(a.links)+1))
	if !dir {
		link += path.Ext(p)
	}
	if !a.safe(link) {
		return "", fmt.Errorf("temporary directory %q cannot be named to the tool", a.tmp)
	}
	if err := os.Symlink(filepath.Join(a.root, filepath.FromSlash(p)), link); err != nil {
		return "", fmt.Errorf("link %s: %w", p, err)
	}
	a.links = append(a.links, alias{link, p})
	return link, nil
}

// undo maps a path the tool printed back to the workspace path.
func (a *aliaser) undo(p string) string {
	for _, l := range a.links {
		if p == l.link {
			return l.orig
		}
		if strings.HasPrefix(p, l.link+"/") {
			return l.orig + p[len(l.link):]
		}
	}
	return p
}

// noBlanks is verilator's rule: it cuts file names at blanks in its
// messages.
func noBlanks(p string) bool { return p != "" && !strings.ContainsAny(p, " \t\n\r\f\v") }
