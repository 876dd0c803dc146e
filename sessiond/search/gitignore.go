package search

import (
	"bufio"
	"bytes"
	"path"
	"strings"
)

// ignoreRule is one line of a .gitignore file (gitignore(5)).
type ignoreRule struct {
	negate  bool // "!pattern" re-includes
	dirOnly bool // "pattern/" matches directories only
	// anchored rules ("/build", "doc/*.txt": a slash at the start or in the
	// middle) match the path relative to the .gitignore's directory; the
	// others match the name at any depth below it.
	anchored bool
	g        glob
	base     string // the pattern itself for unanchored rules
}

// ignoreFile is the rules of one .gitignore and the directory holding it.
type ignoreFile struct {
	dir   string // workspace-relative, "." for the root
	rules []ignoreRule
}

// parseGitignore reads the rules of a .gitignore in dir.
func parseGitignore(dir string, data []byte) *ignoreFile {
	f := &ignoreFile{dir: dir}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		// Trailing spaces are ignored unless escaped with a backslash.
		for strings.HasSuffix(line, " ") && !strings.HasSuffix(line, `\ `) {
			line = line[:len(line)-1]
		}
		line = strings.ReplaceAll(line, `\ `, " ")
		var r ignoreRule
		switch {
		case strings.HasPrefix(line, `\#`), strings.HasPrefix(line, `\!`):
			line = line[1:]
		case line[0] == '!':
			r.negate = true
			line = line[1:]
		}
		if strings.HasSuffix(line, "/") {
			r.dirOnly = true
			line = strings.TrimRight(line, "/")
		}
		if line == "" {
			continue
		}
		// gitignore negates a bracket expression with "!", path.Match with "^".
		line = strings.ReplaceAll(line, "[!", "[^")
		if strings.Contains(line, "/") {
			r.anchored = true
			r.g = compileGlob(strings.TrimPrefix(line, "/"))
		} else {
			r.base = line
		}
		f.rules = append(f.rules, r)
	}
	return f
}

// match reports whether rel (workspace-relative) is ignored (+1),
// re-included (-1) or not mentioned (0) by this file; the last matching
// rule decides, as in git.
func (f *ignoreFile) match(rel string, isDir bool) int {
	sub := rel
	if f.dir != "." {
		sub = strings.TrimPrefix(rel, f.dir+"/")
	}
	name := path.Base(rel)
	for i := len(f.rules) - 1; i >= 0; i-- {
		r := &f.rules[i]
		if r.dirOnly && !isDir {
			continue
		}
		var ok bool
		if r.anchored {
			ok = r.g.match(sub)
		} else {
			ok, _ = path.Match(r.base, name)
		}
		if ok {
			if r.negate {
				return -1
			}
			return 1
		}
	}
	return 0
}

// ignoreStack is the .gitignore files that apply in one directory: its own
// and its parents', innermost last.
type ignoreStack []*ignoreFile

// ignored applies the stack to an entry of the directory: a deeper file's
// verdict overrides a shallower one's. A directory git ignores is never
// entered, so nothing below it can be re-included (as in git).
func (s ignoreStack) ignored(rel string, isDir bool) bool {
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i].match(rel, isDir) {
		case 1:
			return true
		case -1:
			return false
		}
	}
	return false
}
