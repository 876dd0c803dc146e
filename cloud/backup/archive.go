package backup

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"gatewave.dev/cloud/githost"
)

// Format names a Gatewave backup in its manifest; FormatVersion is the
// layout this build writes and the newest it reads.
const (
	Format        = "gatewave-backup"
	FormatVersion = 1
)

// The archive's entries, in this order: the manifest, the database dump,
// then per repo its bundle (absent for a repo without refs) and config.
const (
	manifestName = "manifest.json"
	dumpName     = "database.pgdump"
)

func bundleName(repo string) string { return "repos/" + repo + ".bundle" }
func configName(repo string) string { return "repos/" + repo + ".config" }

// manifestSumKey is the PAX record on the manifest's header holding the
// manifest's own SHA-256, so a damaged manifest is found as well. It is
// the standard "comment" record, which tar(1) ignores without a warning.
const manifestSumKey = "comment"

// maxManifest bounds what a reader accepts as the manifest.
const maxManifest = 16 << 20

// Manifest describes one backup. It is the archive's first entry, so
// listing backups reads only that.
type Manifest struct {
	Format        string `json:"format"`
	FormatVersion int    `json:"formatVersion"`
	// Version is the release of the cloud binary that wrote it.
	Version string    `json:"version"`
	Created time.Time `json:"created"`
	// SchemaVersion is the database's migration version at the dump.
	SchemaVersion int64 `json:"schemaVersion"`
	// Tables maps "schema.table" to its row count in the dump's snapshot.
	Tables map[string]int64 `json:"tables"`
	Repos  []Repo           `json:"repos"`
	// Files lists every entry after the manifest with its size and SHA-256.
	Files []File `json:"files"`
}

// Repo is one user's git repository in a backup.
type Repo struct {
	// Name is the owner (the repo is OWNER.git under DATA_DIR/git).
	Name string `json:"name"`
	// Head is HEAD's symbolic target ("refs/heads/main"), "" if detached.
	Head string `json:"head"`
	// Refs maps each ref in the bundle to its object id.
	Refs map[string]string `json:"refs"`
}

// File is one archive entry after the manifest.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// expected returns the entries m must be followed by, derived from the
// repos' names (never from paths the archive supplies).
func (m *Manifest) expected() []string {
	names := []string{dumpName}
	for _, r := range m.Repos {
		if len(r.Refs) > 0 {
			names = append(names, bundleName(r.Name))
		}
		names = append(names, configName(r.Name))
	}
	return names
}

// check refuses a manifest this build cannot restore faithfully.
func (m *Manifest) check() error {
	if m.Format != Format {
		return fmt.Errorf("not a Gatewave backup (format %q)", m.Format)
	}
	if m.FormatVersion < 1 || m.FormatVersion > FormatVersion {
		return fmt.Errorf("backup format version %d: this build reads up to %d", m.FormatVersion, FormatVersion)
	}
	seen := map[string]bool{}
	for _, r := range m.Repos {
		if !githost.ValidOwner(r.Name) {
			return fmt.Errorf("manifest: invalid repo name %q", r.Name)
		}
		if seen[r.Name] {
			return fmt.Errorf("manifest: repo %q twice", r.Name)
		}
		seen[r.Name] = true
	}
	want := m.expected()
	if len(m.Files) != len(want) {
		return fmt.Errorf("manifest: %d files listed, want %d", len(m.Files), len(want))
	}
	byName := map[string]File{}
	for _, f := range m.Files {
		byName[f.Name] = f
	}
	for _, n := range want {
		f, ok := byName[n]
		if !ok {
			return fmt.Errorf("manifest: %s is not listed", n)
		}
		if f.Size < 0 || len(f.SHA256) != 64 {
			return fmt.Errorf("manifest: %s has a bad size or checksum", n)
		}
	}
	return nil
}

// writeArchive writes m and then each of m.Files, read from work/NAME,
// to w as a tar. It fills in the files' sizes and checksums first.
func writeArchive(w io.Writer, work string, m *Manifest, created time.Time) error {
	m.Files = m.Files[:0]
	for _, n := range m.expected() {
		sum, size, err := hashFile(filepath.Join(work, filepath.FromSlash(n)))
		if err != nil {
			return err
		}
		m.Files = append(m.Files, File{Name: n, Size: size, SHA256: sum})
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	hdr := func(name string, size int64) *tar.Header {
		return &tar.Header{Name: name, Size: size, Mode: 0o600, ModTime: created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	}
	mh := hdr(manifestName, int64(len(mb)))
	sum := sha256.Sum256(mb)
	mh.PAXRecords = map[string]string{manifestSumKey: hex.EncodeToString(sum[:])}
	if err := tw.WriteHeader(mh); err != nil {
		return err
	}
	if _, err := tw.Write(mb); err != nil {
		return err
	}
	for _, f := range m.Files {
		if err := tw.WriteHeader(hdr(f.Name, f.Size)); err != nil {
			return err
		}
		src, err := os.Open(filepath.Join(work, filepath.FromSlash(f.Name)))
		if err != nil {
			return err
		}
		n, err := io.Copy(tw, src)
		src.Close()
		if err != nil {
			return fmt.Errorf("archive %s: %w", f.Name, err)
		}
		if n != f.Size {
			return fmt.Errorf("archive %s: changed while archiving", f.Name)
		}
	}
	return tw.Close()
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// ErrCorrupt is wrapped by every error about a backup file that is not a
// complete, intact backup.
var ErrCorrupt = errors.New("backup file is damaged or incomplete")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// readManifest reads the archive's first entry.
func readManifest(tr *tar.Reader) (Manifest, error) {
	var m Manifest
	h, err := tr.Next()
	if err != nil {
		return m, corrupt("no manifest: %v", err)
	}
	if h.Name != manifestName || h.Typeflag != tar.TypeReg || h.Size > maxManifest {
		return m, corrupt("the first entry is %q, not the manifest", h.Name)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		return m, corrupt("manifest: %v", err)
	}
	sum := sha256.Sum256(b)
	if h.PAXRecords[manifestSumKey] != hex.EncodeToString(sum[:]) {
		return m, corrupt("the manifest does not match its checksum")
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, corrupt("manifest: %v", err)
	}
	if err := m.check(); err != nil {
		return m, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return m, nil
}

// ReadManifest returns the manifest of the backup at path without
// checking the rest of the file (Verify does).
func ReadManifest(path string) (Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, err
	}
	defer f.Close()
	return readManifest(tar.NewReader(f))
}

// extract checks the whole archive at path against its manifest (every
// entry present once, in the listed size, with the listed SHA-256, nothing
// else) while copying the entries under dir.
func extract(path, dir string) (Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	m, err := readManifest(tr)
	if err != nil {
		return m, err
	}
	want := map[string]File{}
	for _, fl := range m.Files {
		want[fl.Name] = fl
	}
	if err := os.MkdirAll(filepath.Join(dir, "repos"), 0o700); err != nil {
		return m, err
	}
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return m, corrupt("after %d of %d files: %v", len(seen), len(want), err)
		}
		fl, ok := want[h.Name]
		if !ok || seen[h.Name] || h.Typeflag != tar.TypeReg {
			return m, corrupt("unexpected entry %q", h.Name)
		}
		if h.Size != fl.Size {
			return m, corrupt("%s is %d bytes, the manifest says %d", h.Name, h.Size, fl.Size)
		}
		seen[h.Name] = true
		if err := copyChecked(tr, filepath.Join(dir, filepath.FromSlash(fl.Name)), fl); err != nil {
			return m, err
		}
	}
	var missing []string
	for n := range want {
		if !seen[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return m, corrupt("missing %v", missing)
	}
	return m, nil
}

func copyChecked(r io.Reader, dst string, fl File) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), r)
	if cerr := out.Close(); err == nil && cerr != nil {
		return cerr
	}
	if err != nil {
		return corrupt("%s: %v", fl.Name, err)
	}
	if n != fl.Size || hex.EncodeToString(h.Sum(nil)) != fl.SHA256 {
		return corrupt("%s does not match its checksum", fl.Name)
	}
	return nil
}
