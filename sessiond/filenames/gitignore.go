package filenames

import (
	"bufio"
	"bytes"
	"path"
	"strings"
)

// rule is one line of a .gitignore file.
type rule struct {
	negate  bool
	dirOnly bool
	// anchored rules match the path relative to the .gitignore's directory
	// segment by segment; the others match the base name at any depth.
	anchored bool
	segs     []string // anchored: the pattern split on '/'
	glob     string   // not anchored: one segment
}

// ignoreFile is the rules of one .gitignore, relative to dir ("" for the root).
type ignoreFile struct {
	dir   string
	rules []rule
}

// parseIgnore reads gitignore syntax (gitignore(5)): '#' comments, blank
// lines, '!' negation, a trailing '/' for directories only, a '/' at the
// start or in the middle anchoring the pattern to the file's directory,
// '*', '?', '[...]' globs that never cross '/', and '**' for any number of
// directories. Backslash escapes a leading '#' or '!' and trailing spaces.
func parseIgnore(dir string, data []byte) ignoreFile {
	f := ignoreFile{dir: dir}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		line = trimTrailingSpaces(line)
		if line == "" || line[0] == '#' {
			continue
		}
		var r rule
		if line[0] == '!' {
			r.negate = true
			line = line[1:]
		} else if strings.HasPrefix(line, `\!`) || strings.HasPrefix(line, `\#`) {
			line = line[1:]
		}
		if strings.HasSuffix(line, "/") {
			r.dirOnly = true
			line = strings.TrimRight(line, "/")
		}
		if line == "" {
			continue
		}
		line = strings.ReplaceAll(line, "[!", "[^")
		if strings.Contains(line, "/") {
			r.anchored = true
			r.segs = strings.Split(strings.TrimPrefix(line, "/"), "/")
		} else {
			r.glob = line
		}
		f.rules = append(f.rules, r)
	}
	return f
}

func trimTrailingSpaces(s string) string {
	for strings.HasSuffix(s, " ") && !strings.HasSuffix(s, `\ `) {
		s = s[:len(s)-1]
	}
	if strings.HasSuffix(s, `\ `) {
		s = s[:len(s)-2] + " "
	}
	return s
}

// match reports whether the rules decide rel (relative to the workspace)
// and, if so, whether it is ignored. The last matching rule wins.
func (f *ignoreFile) match(rel, base string, isDir bool) (decided, ignored bool) {
	sub := rel
	if f.dir != "" {
		sub = strings.TrimPrefix(rel, f.dir+"/")
	}
	for i := len(f.rules) - 1; i >= 0; i-- {
		r := &f.rules[i]
		if r.dirOnly && !isDir {
			continue
		}
		var ok bool
		if r.anchored {
			ok = matchSegs(r.segs, strings.Split(sub, "/"))
		} else {
			ok = globMatch(r.glob, base)
		}
		if ok {
			return true, !r.negate
		}
	}
	return false, false
}

// matchSegs matches pattern segments against path segments; "**" matches
// zero or more segments, except at the end, where it matches one or more
// ("dir/**" is what is inside dir, not dir itself).
func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			if len(pat) == 1 {
				return len(name) >= 1
			}
			for k := 0; k <= len(name); k++ {
				if matchSegs(pat[1:], name[k:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 || !globMatch(pat[0], name[0]) {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// globMatch is path.Match with a malformed pattern matching nothing.
func globMatch(pattern, name string) bool {
	if !strings.ContainsAny(pattern, `*?[\`) {
		return pattern == name
	}
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// ignoreStack is the .gitignore files in force in one directory, outermost first.
type ignoreStack []*ignoreFile

// ignored applies the innermost file that decides, as git does.
func (s ignoreStack) ignored(rel, base string, isDir bool) bool {
	for i := len(s) - 1; i >= 0; i-- {
		if decided, ign := s[i].match(rel, base, isDir); decided {
			return ign
		}
	}
	return false
}
