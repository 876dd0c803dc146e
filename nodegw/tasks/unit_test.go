package tasks

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"gatewave.dev/shared/fleetproto"
)

type entry struct {
	name, link, body string
	typ              byte
	mode             int64
}

func tarOf(t *testing.T, es ...entry) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body))}
		if e.typ == tar.TypeXGlobalHeader {
			if err := tw.WriteHeader(&tar.Header{Typeflag: e.typ, PAXRecords: map[string]string{"comment": strings.Repeat("a", 40)}}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return &b
}

// A hostile archive (the repo is the user's) cannot write outside the
// checkout, neither by name nor through a symlink it made first.
func TestExtractTarAttacks(t *testing.T) {
	for _, c := range []struct {
		name    string
		entries []entry
		want    string
	}{
		{"dotdot", []entry{{name: "../escape", typ: tar.TypeReg, body: "x"}}, "no .."},
		{"absolute", []entry{{name: "/escape", typ: tar.TypeReg, body: "x"}}, "relative"},
		{"file through symlink", []entry{{name: "l", typ: tar.TypeSymlink, link: "OUTSIDE"}, {name: "l", typ: tar.TypeReg, body: "x"}}, "file exists"},
		{"dir through symlink", []entry{{name: "d", typ: tar.TypeSymlink, link: "OUTSIDE"}, {name: "d/escape", typ: tar.TypeReg, body: "x"}}, "symbolic links"},
		{"dir entry over symlink", []entry{{name: "d", typ: tar.TypeSymlink, link: "OUTSIDE"}, {name: "d/", typ: tar.TypeDir}, {name: "d/escape", typ: tar.TypeReg, body: "x"}}, "symbolic links"},
		{"hard link", []entry{{name: "h", typ: tar.TypeLink, link: "/etc/passwd"}}, "unsupported"},
		{"device", []entry{{name: "dev", typ: tar.TypeChar}}, "unsupported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := t.TempDir()
			outside := filepath.Join(base, "OUTSIDE")
			if err := os.Mkdir(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(base, "dst")
			os.Mkdir(dst, 0o755)
			// Symlink targets are relative to dst's entries: point them
			// at the directory beside dst.
			for i := range c.entries {
				if c.entries[i].link == "OUTSIDE" {
					c.entries[i].link = outside
				}
			}
			err := extractTar(tarOf(t, c.entries...), dst)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("extract: %v, want an error containing %q", err, c.want)
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("something was written outside: %v", ents)
			}
			if _, err := os.Lstat(filepath.Join(base, "escape")); err == nil {
				t.Fatal("escape written beside dst")
			}
		})
	}
}

func TestExtractTarKeepsSymlinksAndModes(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "dst")
	os.Mkdir(dst, 0o755)
	err := extractTar(tarOf(t,
		entry{name: "pax_global_header", typ: tar.TypeXGlobalHeader},
		entry{name: "a/", typ: tar.TypeDir, mode: 0o755},
		entry{name: "a/run.sh", typ: tar.TypeReg, body: "#!/bin/sh\n", mode: 0o755},
		entry{name: "a/data", typ: tar.TypeReg, body: "d", mode: 0o4666},
		entry{name: "passwd", typ: tar.TypeSymlink, link: "/etc/passwd"},
	), dst)
	if err != nil {
		t.Fatal(err)
	}
	if err := makeReadOnly(dst); err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(filepath.Join(dst, "passwd")); err != nil || l != "/etc/passwd" {
		t.Errorf("symlink: %q, %v", l, err)
	}
	for p, want := range map[string]os.FileMode{"a": os.ModeDir | 0o555, "a/run.sh": 0o555, "a/data": 0o444} {
		st, err := os.Lstat(filepath.Join(dst, p))
		if err != nil || st.Mode() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, st.Mode(), err, want)
		}
	}
	removeTree(filepath.Dir(dst))
	if _, err := os.Lstat(dst); !os.IsNotExist(err) {
		t.Errorf("removeTree left %s: %v", dst, err)
	}
}

func TestBaseImages(t *testing.T) {
	for _, c := range []struct {
		df   string
		want []string
		err  string
	}{
		{"FROM scratch\nCOPY x /x\n", nil, ""},
		{"# comment\nfrom Img:1 as Build\nRUN make\nFROM build\nCOPY --from=build /a /a\nCOPY --from=0 /b /b\n", []string{"FROM Img:1"}, ""},
		{"ARG BASE=base:1\nFROM ${BASE} AS b\nFROM $BASE\n", []string{"FROM base:1", "FROM base:1"}, ""},
		{"ARG BASE=\"base:1\"\nFROM $BASE\nARG BASE=remote:2\nFROM $BASE\n", []string{"FROM base:1", "FROM base:1"}, ""},
		{"FROM --platform=linux/arm64 base:1\n", nil, "FROM --platform=linux/arm64 is not allowed"},
		{"FROM scratch\nCOPY --chown=1:1 --from=other:tag /x /x\n", []string{"COPY --from other:tag"}, ""},
		{"FROM \\\n  debian:bookworm\n", []string{"FROM debian:bookworm"}, ""},
		{"FROM ${NOPE}\n", nil, "NOPE, which has no default"},
		{"RUN true\n", nil, "no FROM"},
		{"FROM scratch\nADD http://127.0.0.1:8080/secret /s\n", nil, "line 2: ADD is not allowed: use COPY; ADD fetches URLs on the node's network"},
		{"FROM scratch\nadd --chown=1 [\"https://x/y\", \"/y\"]\n", nil, "ADD is not allowed"},
		{"FROM scratch\nADD local.txt /x\n", nil, "ADD is not allowed"},
		{"FROM scratch\nONBUILD ADD git@host:r.git /r\n", nil, "ADD is not allowed"},
		{"FROM scratch\nonbuild \\\n  # c\n\n  aDd x /r\n", nil, "line 2: ADD is not allowed"},
		{"FROM scratch\nONBUILD ONBUILD ADD x /r\n", nil, "ADD is not allowed"},
		{"FROM scratch\nA\\\nDD http://x/y /y\n", nil, "line 2: ADD is not allowed"},
		{"FROM scratch\nAD\\ \t\nD http://x/y /y\n", nil, "ADD is not allowed"},
		{"FROM scratch\nARG U=http://x/y\nADD $U /y\n", nil, "ADD is not allowed"},
		{"FROM scratch\nENV U=http://x/y\nADD ${U} /y\n", nil, "ADD is not allowed"},
		{"\ufeffFROM scratch\n\tADD x /y\n", nil, "ADD is not allowed"},
		{"# escape=`\nFROM scratch\nRUN true \\\nADD http://x/y /y\n", nil, "line 1: parser directives (# escape=, # syntax=) are not allowed"},
		{"\ufeff  #ESCAPE = \\\nFROM scratch\n", nil, "parser directives"},
		{"# syntax=docker/dockerfile:1\nFROM scratch\n", nil, "parser directives"},
		{"FROM scratch\n# escape=`\n", nil, "parser directives"},
		{"FROM scratch\nRUN true \\\r\r\nADD http://x/y /y\n", nil, "carriage return"},
		{"FROM scratch\nRUN <<'E\\'\nx\nE\\\nADD http://x/y /y\n", nil, "heredocs"},
		{"FROM scratch\nRUN \\\n cat <<EOF\nEOF\n", nil, "heredocs"},
		{"FROM scratch\nCOPY --from=7 /a /a\n", []string{"COPY --from 7"}, ""},
		{"FROM scratch AS s\nFROM scratch\nCOPY --from=0 /a /a\nCOPY --from=1 /a /a\n", []string{"COPY --from 1"}, ""},
		{"FROM scratch\nARG X=img:1\nCOPY --from=$X /a /a\n", nil, "without variables"},
		{"FROM scratch\nCOPY --FROM=\"img\" /a /a\n", nil, "without variables or quotes"},
		{"FROM scratch\nCOPY --from img /a /a\n", nil, "write --from=NAME"},
		{"FROM scratch\n" + strings.Repeat("# padding to over a MiB\n", 1<<20/24) + "ADD http://x/y /y\n", nil, "over the limit of 1048576 (1 MiB)"},
		{"FROM scratch\nONBUILD COPY --from=img:1 /a /a\n", []string{"COPY --from img:1"}, ""},
		{"FROM\n", nil, "FROM without an image"},
	} {
		if len(c.df) > maxDockerfile {
			// The same ADD after a line too long for the scanner, in a
			// file not over the limit, is refused too.
			if _, err := baseImages([]byte("FROM scratch\n# " + strings.Repeat("x", maxDockerfileLine) + "\nADD http://x/y /y\n")); err == nil || !strings.Contains(err.Error(), "line 2 is longer than") {
				t.Errorf("long line: %v", err)
			}
			if _, err := baseImages([]byte("FROM scratch\n# " + strings.Repeat("x", 2*maxDockerfileLine) + "\nADD http://x/y /y\n")[:maxDockerfile]); err == nil || !strings.Contains(err.Error(), "line 2 is longer than") {
				t.Errorf("long line: %v", err)
			}
		}
		refs, err := baseImages([]byte(c.df))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want error %q", c.df, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.df, err)
			continue
		}
		var got []string
		for _, r := range refs {
			got = append(got, r.instr+" "+r.image)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: %v, want %v", c.df, got, c.want)
		}
	}
}

func TestEnvImageTag(t *testing.T) {
	c := strings.Repeat("a", 40)
	tag := EnvImageTag("https://u:p@git.example/env.git", c, "envs/a/Dockerfile")
	if tag != EnvImageTag("https://git.example/env.git", c, "envs/a/Dockerfile") {
		t.Error("the tag depends on the URL's credentials")
	}
	if !strings.HasPrefix(tag, "gatewave-env:") || len(tag) != len("gatewave-env:")+32 {
		t.Errorf("tag %q", tag)
	}
	if tag == EnvImageTag("https://git.example/env.git", c, "envs/b/Dockerfile") {
		t.Error("two Dockerfiles share a tag")
	}
}

// The log writer never sends a chunk over the limit and numbers them
// from 1 without gaps.
func TestLogChunks(t *testing.T) {
	var got []fleetproto.TaskLog
	w := newLogWriter(key{1, 1}, func(l *fleetproto.TaskLog) error { got = append(got, *l); return nil })
	big := bytes.Repeat([]byte("x"), 3*fleetproto.MaxTaskLogChunk+5)
	w.Write(big[:100])
	w.Write(big[100:])
	w.Close()
	var all []byte
	for i, l := range got {
		if l.Seq != int64(i+1) || len(l.Data) > fleetproto.MaxTaskLogChunk || len(l.Data) == 0 {
			t.Fatalf("chunk %d: seq %d, %d bytes", i, l.Seq, len(l.Data))
		}
		all = append(all, l.Data...)
	}
	if !bytes.Equal(all, big) {
		t.Fatalf("got %d bytes, want %d", len(all), len(big))
	}
}

// A read-only tree is made removable through descriptors: a symlink in
// it to a directory outside is not followed, and the outside directory
// keeps its mode.
func TestMakeWritableNoFollow(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	if err := os.Mkdir(outside, 0o751); err != nil {
		t.Fatal(err)
	}
	os.Chmod(outside, 0o751)
	tree := filepath.Join(base, "tree")
	for _, d := range []string{"tree/a/b", "tree/c"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(tree, "a", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(base, "rootlink")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"tree/a/b", "tree/a", "tree/c", "tree"} {
		os.Chmod(filepath.Join(base, d), 0o555)
	}
	fd, err := unix.Open(tree, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		t.Fatal(err)
	}
	makeWritable(fd, 0)
	unix.Close(fd)
	for _, d := range []string{"tree", "tree/a", "tree/a/b", "tree/c"} {
		if st, err := os.Lstat(filepath.Join(base, d)); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want 0700", d, st.Mode(), err)
		}
	}
	removeTree(filepath.Join(base, "rootlink")) // a symlink itself: removed, not followed
	removeTree(tree)
	if st, err := os.Stat(outside); err != nil || st.Mode().Perm() != 0o751 {
		t.Fatalf("outside dir: %v %v, want 0751 untouched", st.Mode(), err)
	}
	if _, err := os.Lstat(tree); !os.IsNotExist(err) {
		t.Errorf("tree left: %v", err)
	}
}

// A container still alive swaps a directory of /out for a symlink to a
// node directory while the node removes the tree: the node directory's
// mode never changes.
func TestRemoveTreeSwapRace(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "etc")
	if err := os.Mkdir(outside, 0o751); err != nil {
		t.Fatal(err)
	}
	os.Chmod(outside, 0o751)
	for i := 0; i < 300; i++ {
		tree := filepath.Join(base, "task")
		d := filepath.Join(tree, "out", "d")
		if err := os.MkdirAll(filepath.Join(d, "e"), 0o755); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 20; j++ {
			os.Mkdir(filepath.Join(tree, "out", fmt.Sprint("x", j)), 0o755)
		}
		stop := make(chan struct{})
		swapped := make(chan struct{})
		go func() {
			defer close(swapped)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if os.Rename(d, d+".real") == nil {
					os.Symlink(outside, d)
					os.Remove(d)
					os.Rename(d+".real", d)
				}
			}
		}()
		removeTree(tree)
		close(stop)
		<-swapped
		os.RemoveAll(tree)
		if st, err := os.Stat(outside); err != nil || st.Mode().Perm() != 0o751 {
			t.Fatalf("round %d: the node's directory became %v (%v)", i, st.Mode(), err)
		}
	}
}

// Each GPU goes to one task at a time, lowest index first.
func TestGPUSet(t *testing.T) {
	g := newGPUSet([]string{"0", "1", "10", "2"})
	a, err := g.take(2)
	if err != nil || strings.Join(a, ",") != "0,1" {
		t.Fatalf("first take: %v %v", a, err)
	}
	b, err := g.take(2)
	if err != nil || strings.Join(b, ",") != "2,10" {
		t.Fatalf("second take: %v %v", b, err)
	}
	if _, err := g.take(1); err == nil || !strings.Contains(err.Error(), "0 of this node's 4 are free") {
		t.Fatalf("a take with none free: %v", err)
	}
	g.give(a)
	if c, err := g.take(1); err != nil || c[0] != "0" {
		t.Fatalf("after giving back: %v %v", c, err)
	}
	if _, err := newGPUSet(nil).take(1); err == nil {
		t.Fatal("a node without GPUs gave one")
	}
}
