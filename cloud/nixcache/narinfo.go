package nixcache

import (
	"bufio"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// StoreDir is the only store the cache holds paths of: what sessions and
// Debian's nix-bin use.
const StoreDir = "/nix/store"

var (
	hashPart = `[0-9a-df-np-sv-z]{32}`
	// baseName is a store path's last component: hash, dash, name (Nix's
	// name characters; not starting with a dot).
	baseName  = regexp.MustCompile(`^(` + hashPart + `)-([A-Za-z0-9+\-_?=][A-Za-z0-9+\-._?=]{0,210})$`)
	narHashRe = regexp.MustCompile(`^sha256:([0-9a-df-np-sv-z]{52})$`)
)

// NarInfo is a path's entry in the cache: what `<hash>.narinfo` says.
// Only uncompressed NARs are kept, so the file is the NAR itself.
type NarInfo struct {
	StorePath  string   // full path, /nix/store/<hash>-<name>
	NarHash    string   // sha256:<nix32>
	NarSize    int64    //
	References []string // base names, sorted
	Deriver    string   // base name, or ""
	CA         string   // content address, or ""
	Sigs       []string // name:base64
}

// Hash is the store path's hash part, which names its narinfo.
func (n *NarInfo) Hash() string {
	return strings.TrimPrefix(n.StorePath, StoreDir+"/")[:32]
}

// NarFile is the NAR's name under nar/: its own hash, so one NAR cannot
// be written over another.
func (n *NarInfo) NarFile() string {
	return strings.TrimPrefix(n.NarHash, "sha256:") + ".nar"
}

// Fingerprint is what a signature covers, as Nix computes it.
func (n *NarInfo) Fingerprint() string {
	refs := make([]string, len(n.References))
	for i, r := range n.References {
		refs[i] = StoreDir + "/" + r
	}
	return "1;" + n.StorePath + ";" + n.NarHash + ";" + strconv.FormatInt(n.NarSize, 10) + ";" + strings.Join(refs, ",")
}

// String formats the narinfo as the cache serves it.
func (n *NarInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "StorePath: %s\nURL: nar/%s\nCompression: none\nFileHash: %s\nFileSize: %d\nNarHash: %s\nNarSize: %d\nReferences: %s\n",
		n.StorePath, n.NarFile(), n.NarHash, n.NarSize, n.NarHash, n.NarSize, strings.Join(n.References, " "))
	if n.Deriver != "" {
		fmt.Fprintf(&b, "Deriver: %s\n", n.Deriver)
	}
	if n.CA != "" {
		fmt.Fprintf(&b, "CA: %s\n", n.CA)
	}
	for _, s := range n.Sigs {
		fmt.Fprintf(&b, "Sig: %s\n", s)
	}
	return b.String()
}

// ParseNarInfo reads a narinfo as `nix copy` writes it to a file:// store
// with compression=none, and checks every field it keeps. Signatures in
// it are kept in Sigs; the cache replaces them with its own.
func ParseNarInfo(text string) (*NarInfo, error) {
	n := &NarInfo{NarSize: -1}
	var url, compression, fileHash string
	fileSize := int64(-1)
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			if k2, ok2 := strings.CutSuffix(line, ":"); ok2 { // "References:" with none
				k, v = k2, ""
			} else {
				return nil, fmt.Errorf("narinfo: bad line %q", line)
			}
		}
		if seen[k] && k != "Sig" {
			return nil, fmt.Errorf("narinfo: %s given twice", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "StorePath":
			n.StorePath = v
		case "URL":
			url = v
		case "Compression":
			compression = v
		case "FileHash":
			fileHash = v
		case "FileSize":
			fileSize, err = strconv.ParseInt(v, 10, 64)
		case "NarHash":
			n.NarHash = v
		case "NarSize":
			n.NarSize, err = strconv.ParseInt(v, 10, 64)
		case "References":
			if v = strings.TrimSpace(v); v != "" {
				n.References = strings.Fields(v)
			}
		case "Deriver":
			if v != "unknown-deriver" {
				n.Deriver = v
			}
		case "CA":
			n.CA = v
		case "Sig":
			n.Sigs = append(n.Sigs, v)
		case "System":
		default:
			return nil, fmt.Errorf("narinfo: unknown field %q", k)
		}
		if err != nil {
			return nil, fmt.Errorf("narinfo: %s: %w", k, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("narinfo: %w", err)
	}
	base, ok := strings.CutPrefix(n.StorePath, StoreDir+"/")
	if !ok || !baseName.MatchString(base) {
		return nil, fmt.Errorf("narinfo: StorePath %q is not a path in %s", n.StorePath, StoreDir)
	}
	if !narHashRe.MatchString(n.NarHash) {
		return nil, fmt.Errorf("narinfo: NarHash %q: want sha256:<nix32>", n.NarHash)
	}
	if n.NarSize < 0 {
		return nil, fmt.Errorf("narinfo: NarSize missing")
	}
	if compression != "none" {
		return nil, fmt.Errorf("narinfo: Compression %q: the cache takes uncompressed NARs only (nix copy --to 'file://DIR?compression=none')", compression)
	}
	if url != "nar/"+n.NarFile() {
		return nil, fmt.Errorf("narinfo: URL %q: want nar/%s", url, n.NarFile())
	}
	if (fileHash != "" && fileHash != n.NarHash) || (fileSize >= 0 && fileSize != n.NarSize) {
		return nil, fmt.Errorf("narinfo: FileHash/FileSize differ from NarHash/NarSize of an uncompressed NAR")
	}
	for _, r := range n.References {
		if !baseName.MatchString(r) {
			return nil, fmt.Errorf("narinfo: reference %q is not a store path's name", r)
		}
	}
	slices.Sort(n.References)
	n.References = slices.Compact(n.References)
	if n.Deriver != "" && !baseName.MatchString(n.Deriver) {
		return nil, fmt.Errorf("narinfo: Deriver %q is not a store path's name", n.Deriver)
	}
	if strings.ContainsAny(n.CA, "\r\n") {
		return nil, fmt.Errorf("narinfo: bad CA")
	}
	return n, nil
}
