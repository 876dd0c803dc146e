package savefmt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A resume stream is what the node sends a fresh container to restore a
// workspace from: the refs, then a git pack with its index, as the node
// built them. The index comes along so the container never rehashes the
// pack (index-pack costs more than everything else in a resume); the node
// is the trusted side of this stream, so the container takes it as is.
//
//	# gatewave resume v1\n
//	<sha> <refname>\n ...        (the refs; may be none)
//	\n
//	<pack length>\n<pack bytes><index length>\n<index bytes>
const resumeMagic = "# gatewave resume v1\n"

// MaxResumeRefs bounds the refs of a resume stream.
const MaxResumeRefs = 100000

// WriteResume writes a resume stream. pack and idx may be nil for a
// repository without objects.
func WriteResume(w io.Writer, refs map[string]string, pack io.Reader, packLen int64, idx io.Reader, idxLen int64) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(resumeMagic)
	for name, sha := range refs {
		fmt.Fprintf(bw, "%s %s\n", sha, name)
	}
	fmt.Fprintf(bw, "\n%d\n", packLen)
	if packLen > 0 {
		if _, err := io.CopyN(bw, pack, packLen); err != nil {
			return fmt.Errorf("resume stream: pack: %w", err)
		}
	}
	fmt.Fprintf(bw, "%d\n", idxLen)
	if idxLen > 0 {
		if _, err := io.CopyN(bw, idx, idxLen); err != nil {
			return fmt.Errorf("resume stream: index: %w", err)
		}
	}
	return bw.Flush()
}

// Resume is a resume stream being read: Refs are read by ReadResume, then
// the pack and the index follow through Pack and Index, in that order.
type Resume struct {
	Refs map[string]string
	r    *bufio.Reader
}

// ReadResume reads a resume stream's header.
func ReadResume(r io.Reader) (*Resume, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.ReadString('\n')
	if err != nil || magic != resumeMagic {
		return nil, errors.New("not a resume stream")
	}
	res := &Resume{Refs: map[string]string{}, r: br}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("resume stream: refs: %w", err)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			return res, nil
		}
		sha, name, ok := strings.Cut(line, " ")
		if !ok || !ValidCommit(sha) || !strings.HasPrefix(name, "refs/") || len(res.Refs) >= MaxResumeRefs {
			return nil, fmt.Errorf("resume stream: bad ref line %q", line)
		}
		res.Refs[name] = sha
	}
}

// Section returns the next length-prefixed section (the pack, then the
// index) as a reader of exactly its length.
func (r *Resume) Section(max int64) (io.Reader, int64, error) {
	line, err := r.r.ReadString('\n')
	if err != nil {
		return nil, 0, fmt.Errorf("resume stream: section: %w", err)
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(line, "\n"), 10, 64)
	if err != nil || n < 0 || n > max {
		return nil, 0, fmt.Errorf("resume stream: bad section length %q", line)
	}
	return io.LimitReader(r.r, n), n, nil
}
