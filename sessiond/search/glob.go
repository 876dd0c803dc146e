package search

import (
	"path"
	"strings"
)

// glob is one compiled glob: slash-separated segments where "**" matches
// any number of segments and the others use path.Match syntax.
type glob struct {
	segs []string
}

func compileGlob(p string) glob {
	p = strings.Trim(p, "/")
	return glob{segs: strings.Split(p, "/")}
}

// match reports whether the slash-separated path rel matches.
func (g glob) match(rel string) bool {
	return matchSegs(g.segs, strings.Split(rel, "/"))
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			pat = pat[1:]
			if len(pat) == 0 {
				return true
			}
			for i := 0; i <= len(name); i++ {
				if matchSegs(pat, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// globSet is the user's include or exclude list, VS Code style: a glob
// without a slash ("*.v", "build") matches a file's name or any of its
// parent directories' names; one with a slash ("src/**/*.sv") matches the
// workspace-relative path from the root, and "dir/" is the same as
// "dir/**".
type globSet struct {
	base []string // patterns tested against one path segment
	full []glob   // patterns tested against the whole path
}

// parseGlobs splits a comma-separated list ("*.v, *.sv") into a set.
func parseGlobs(list []string) (globSet, error) {
	var s globSet
	for _, item := range list {
		for _, p := range strings.Split(item, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			p = strings.TrimPrefix(p, "./")
			if strings.HasSuffix(p, "/") {
				p += "**"
			}
			if !strings.Contains(p, "/") {
				if _, err := path.Match(p, ""); err != nil {
					return s, errBadGlob(p)
				}
				s.base = append(s.base, p)
				continue
			}
			for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
				if _, err := path.Match(seg, ""); err != nil {
					return s, errBadGlob(p)
				}
			}
			s.full = append(s.full, compileGlob(p))
		}
	}
	return s, nil
}

func (s globSet) empty() bool { return len(s.base) == 0 && len(s.full) == 0 }

// matchFile reports whether the file at rel (slash-separated) matches.
func (s globSet) matchFile(rel string) bool {
	for _, g := range s.full {
		if g.match(rel) {
			return true
		}
	}
	if len(s.base) == 0 {
		return false
	}
	for rest := rel; ; {
		seg := rest
		i := strings.IndexByte(rest, '/')
		if i >= 0 {
			seg = rest[:i]
		}
		for _, p := range s.base {
			if ok, _ := path.Match(p, seg); ok {
				return true
			}
		}
		if i < 0 {
			return false
		}
		rest = rest[i+1:]
	}
}

// matchDir reports whether everything under the directory rel is matched,
// so an exclude can prune it without reading it.
func (s globSet) matchDir(rel string) bool {
	name := path.Base(rel)
	for _, p := range s.base {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	for _, g := range s.full {
		if n := len(g.segs); n > 0 && g.segs[n-1] == "**" && (glob{segs: g.segs[:n-1]}).match(rel) {
			return true
		}
	}
	return false
}
