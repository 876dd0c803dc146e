package filenames

import (
	"container/heap"
	"runtime"
	"strings"
	"sync"
)

// Match is one ranked result.
type Match struct {
	Path  string `json:"path"`
	Score int    `json:"score"`
	// Positions are the matched characters of Path as UTF-16 code unit
	// offsets (what a JavaScript string index is), ascending.
	Positions []int `json:"positions"`
}

// Scores, after VS Code's quick open: a match of the base name always
// outranks a match that needs the directories, an exact or prefix base
// name match outranks a scattered one; within a tier, characters that
// follow each other and characters at the start of a path segment or a
// word score more. Equal scores rank the shorter path first.
const (
	tierShift     = 20
	tierPath      = 0
	tierBase      = 1
	tierPrefix    = 2
	tierExact     = 3
	scoreChar     = 1
	bonusStart    = 8 // first character of the candidate (a path or a base name)
	bonusSegment  = 8 // after '/'
	bonusWord     = 6 // after '_', '-', '.', ' '
	bonusCamel    = 6 // an upper-case letter after a lower-case one
	bonusConsec   = 6 // the previous query character matched the previous character
	bonusSameCase = 1
)

// Query returns the best limit paths for query (at most limit, best
// first) and how many paths matched at all. Spaces in query are ignored;
// matching is case-insensitive for ASCII letters. An empty query returns
// the first limit paths in walk order.
func (x *Index) Query(query string, limit int) (res []Match, total int) {
	q := strings.ReplaceAll(query, " ", "")
	if limit <= 0 {
		limit = 50
	}
	if q == "" {
		n := min(limit, len(x.paths))
		res = make([]Match, n)
		for i := range n {
			res[i] = Match{Path: x.paths[i], Positions: []int{}}
		}
		return res, len(x.paths)
	}
	workers := runtime.GOMAXPROCS(0)
	if len(x.paths) < 4096 {
		workers = 1
	}
	chunk := (len(x.paths) + workers - 1) / workers
	heaps := make([]topN, workers)
	counts := make([]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, len(x.paths))
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := newMatcher(q)
			h := &heaps[w]
			for i := lo; i < hi; i++ {
				score, ok := m.score(x, i, h.floor(limit))
				if !ok {
					continue
				}
				counts[w]++
				h.offer(cand{idx: i, score: score, plen: len(x.paths[i])}, limit, x)
			}
		}()
	}
	wg.Wait()
	var all topN
	for w := range heaps {
		total += counts[w]
		for _, c := range heaps[w].c {
			all.offer(c, limit, x)
		}
	}
	out := make([]cand, len(all.c))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&all).(cand)
	}
	m := newMatcher(q)
	res = make([]Match, len(out))
	for i, c := range out {
		pos := m.positions(x, c.idx)
		res[i] = Match{Path: x.paths[c.idx], Score: c.score, Positions: utf16Offsets(x.paths[c.idx], pos)}
	}
	return res, total
}

type cand struct {
	idx, score, plen int
}

// topN is a min-heap of the best candidates seen, worst at the root.
type topN struct{ c []cand }

// worse reports whether a ranks below b: lower score, then longer path,
// then later in walk order (which is sorted by name).
func worse(a, b cand) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	if a.plen != b.plen {
		return a.plen > b.plen
	}
	return a.idx > b.idx
}

func (h *topN) Len() int           { return len(h.c) }
func (h *topN) Less(i, j int) bool { return worse(h.c[i], h.c[j]) }
func (h *topN) Swap(i, j int)      { h.c[i], h.c[j] = h.c[j], h.c[i] }
func (h *topN) Push(v any)         { h.c = append(h.c, v.(cand)) }
func (h *topN) Pop() any {
	v := h.c[len(h.c)-1]
	h.c = h.c[:len(h.c)-1]
	return v
}

// floor is the score a candidate must reach to enter a full heap (-1: any).
func (h *topN) floor(limit int) int {
	if len(h.c) < limit {
		return -1
	}
	return h.c[0].score
}

func (h *topN) offer(c cand, limit int, _ *Index) {
	if len(h.c) < limit {
		heap.Push(h, c)
		return
	}
	if worse(h.c[0], c) {
		h.c[0] = c
		heap.Fix(h, 0)
	}
}

// matcher scores one query against many paths, reusing its buffers.
type matcher struct {
	q      string // lowered
	orig   string
	hasSep bool
	m, d   []int32 // (len(q) x window) score tables
	bonus  []int32
	pos    []int
}

func newMatcher(q string) *matcher {
	return &matcher{q: lowerASCII(q), orig: q, hasSep: strings.Contains(q, "/")}
}

// score returns the candidate's score, or false when the query's
// characters do not all occur in order. A candidate whose best possible
// tier cannot beat floor is rejected early.
func (m *matcher) score(x *Index, i, floor int) (int, bool) {
	lp := x.lower[i]
	if !subseq(m.q, lp) {
		return 0, false
	}
	b := int(x.base[i])
	if !m.hasSep {
		lb := lp[b:]
		switch {
		case lb == m.q:
			return tierExact<<tierShift + m.dp(x.paths[i][b:], lb, false), true
		case strings.HasPrefix(lb, m.q):
			return tierPrefix<<tierShift + m.dp(x.paths[i][b:], lb, false), true
		case subseq(m.q, lb):
			return tierBase<<tierShift + m.dp(x.paths[i][b:], lb, false), true
		}
	} else if lp == m.q {
		return tierExact<<tierShift + m.dp(x.paths[i], lp, false), true
	}
	if floor >= tierBase<<tierShift {
		return 0, true // matches, but can never be shown
	}
	return tierPath<<tierShift + m.dp(x.paths[i], lp, false), true
}

// positions recomputes the winning alignment of a candidate that scored,
// as byte offsets into the path.
func (m *matcher) positions(x *Index, i int) []int {
	lp := x.lower[i]
	b := int(x.base[i])
	if !m.hasSep && subseq(m.q, lp[b:]) {
		m.dp(x.paths[i][b:], lp[b:], true)
		for k := range m.pos {
			m.pos[k] += b
		}
		return m.pos
	}
	m.dp(x.paths[i], lp, true)
	return m.pos
}

func subseq(q, t string) bool {
	j := 0
	for k := 0; k < len(t) && j < len(q); k++ {
		if t[k] == q[j] {
			j++
		}
	}
	return j == len(q)
}
