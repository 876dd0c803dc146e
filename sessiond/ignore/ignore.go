// Package ignore matches workspace paths against .gitignore files the way
// git does (gitignore(5)): nested files whose verdict overrides their
// parents', '!' negation, directory-only patterns ("build/"), patterns
// anchored by a slash ("/top.txt", "doc/*.html"), '*', '?' and '[...]'
// globs that never cross '/', "**" for any number of directories, and
// backslash escapes. Search in files and quick open share it, so a file
// is hidden from both or from neither.
package ignore

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path"
	"strings"
)

// MaxFileSize bounds how much of an ignore file is read.
const MaxFileSize = 1 << 20

// rule is one pattern line.
type rule struct {
	negate  bool // "!pattern" re-includes
	dirOnly bool // "pattern/" matches directories only
	// anchored rules (a slash at the start or in the middle) match the path
	// relative to the file's directory, segment by segment; the others
	// match the base name at any depth below it.
	anchored bool
	segs     []string // anchored: the pattern split on '/'
	glob     string   // not anchored: one segment
}

// File is the rules of one .gitignore (or .git/info/exclude) and the
// directory they apply to.
type File struct {
	prefix string // the directory, workspace-relative, with a trailing '/'; "" for the root
	rules  []rule
}

// Parse reads the rules of an ignore file in dir (workspace-relative,
// slash-separated; "" or "." for the root).
func Parse(dir string, data []byte) *File {
	if dir == "." {
		dir = ""
	}
	f := &File{}
	if dir != "" {
		f.prefix = strings.TrimSuffix(dir, "/") + "/"
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxFileSize)
	for sc.Scan() {
		line := trimTrailingSpaces(strings.TrimSuffix(sc.Text(), "\r"))
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
		// gitignore negates a bracket expression with "!", path.Match with "^".
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

// ReadExclude reads the repository's .git/info/exclude through root (which
// confines the open to the workspace); nil when there is none.
func ReadExclude(root *os.Root) *File {
	fh, err := root.Open(".git/info/exclude")
	if err != nil {
		return nil
	}
	defer fh.Close()
	if st, err := fh.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize))
	if err != nil {
		return nil
	}
	return Parse("", data)
}

// trimTrailingSpaces drops trailing spaces unless escaped ("a\ " keeps one).
func trimTrailingSpaces(s string) string {
	for strings.HasSuffix(s, " ") && !strings.HasSuffix(s, `\ `) {
		s = s[:len(s)-1]
	}
	if strings.HasSuffix(s, `\ `) {
		s = s[:len(s)-2] + " "
	}
	return s
}

// Match reports whether this file decides rel (workspace-relative,
// slash-separated) and, if so, whether it is ignored. The last matching
// rule wins, as in git.
func (f *File) Match(rel string, isDir bool) (decided, ignored bool) {
	sub := rel
	if f.prefix != "" {
		var ok bool
		if sub, ok = strings.CutPrefix(rel, f.prefix); !ok {
			return false, false // not below this file's directory
		}
	}
	base := sub
	if i := strings.LastIndexByte(sub, '/'); i >= 0 {
		base = sub[i+1:]
	}
	var segs []string // sub split on '/', made on the first anchored rule
	for i := len(f.rules) - 1; i >= 0; i-- {
		r := &f.rules[i]
		if r.dirOnly && !isDir {
			continue
		}
		var ok bool
		if r.anchored {
			if segs == nil {
				segs = strings.Split(sub, "/")
			}
			ok = matchSegs(r.segs, segs)
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

// Stack is the ignore files in force in one directory, outermost first
// (.git/info/exclude, then the root's .gitignore, then each subdirectory's).
type Stack []*File

// With returns s with f innermost, never sharing s's backing array (a walk
// hands one stack to several subdirectories). A nil f returns s.
func (s Stack) With(f *File) Stack {
	if f == nil {
		return s
	}
	return append(s[:len(s):len(s)], f)
}

// Ignored applies the innermost file that decides rel, as git does. It
// judges rel alone: a walk never enters an ignored directory, so whatever
// is below one is left out by the walk (and nothing below it can be
// re-included, as in git); see IgnoredPath for a path met on its own.
func (s Stack) Ignored(rel string, isDir bool) bool {
	for i := len(s) - 1; i >= 0; i-- {
		if decided, ign := s[i].Match(rel, isDir); decided {
			return ign
		}
	}
	return false
}

// IgnoredPath reports whether rel is ignored itself or lies below an
// ignored directory, for a path met outside a walk (a file watcher's
// event). s must hold every file that applies to rel's directory.
func (s Stack) IgnoredPath(rel string, isDir bool) bool {
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && s.Ignored(rel[:i], true) {
			return true
		}
	}
	return s.Ignored(rel, isDir)
}

// Reader reads, through a workspace root, the ignore files that apply to
// paths met one at a time (a language server's diagnostics), each
// directory's .gitignore once. It is not safe for concurrent use; make one
// per pass, so an edited .gitignore is read again by the next.
type Reader struct {
	root *os.Root
	read map[string]*File // by directory; nil for one without a .gitignore
	base Stack            // .git/info/exclude, then the root's .gitignore
}

// NewReader reads through root, which confines every open to the workspace.
func NewReader(root *os.Root) *Reader {
	r := &Reader{root: root, read: map[string]*File{}}
	r.base = Stack{}.With(ReadExclude(root)).With(r.dir(""))
	return r
}

// Ignored reports whether the file rel (workspace-relative, slash-separated)
// is ignored, itself or through a directory above it.
func (r *Reader) Ignored(rel string) bool {
	stack := r.base
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' {
			stack = stack.With(r.dir(rel[:i]))
		}
	}
	return stack.IgnoredPath(rel, false)
}

// dir is dir's .gitignore (a regular file of the workspace), or nil.
func (r *Reader) dir(dir string) *File {
	if f, ok := r.read[dir]; ok {
		return f
	}
	name := ".gitignore"
	if dir != "" {
		name = dir + "/.gitignore"
	}
	var f *File
	if fh, err := r.root.Open(name); err == nil {
		if st, err := fh.Stat(); err == nil && st.Mode().IsRegular() {
			if data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize)); err == nil {
				f = Parse(dir, data)
			}
		}
		fh.Close()
	}
	r.read[dir] = f
	return f
}
