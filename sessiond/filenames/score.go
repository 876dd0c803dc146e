package filenames

import "unicode/utf16"

const neg = -1 << 30

// dp finds the best alignment of the query in t (lt is t lowered; the
// query is known to be a subsequence of lt) and returns its score. With
// trace, m.pos receives the matched byte offsets.
//
// M[i][j] is the best score with query character i matched at t[j];
// D[i][j] the best with character i matched anywhere at or before j.
// A character matched right after the previous one adds bonusConsec.
func (m *matcher) dp(t, lt string, trace bool) int {
	q := m.q
	nq := len(q)
	lo := 0
	for lt[lo] != q[0] {
		lo++
	}
	hi := len(lt)
	for lt[hi-1] != q[nq-1] {
		hi--
	}
	w := hi - lo
	if need := nq * w; cap(m.m) < need {
		m.m = make([]int32, need)
		m.d = make([]int32, need)
	}
	M, D := m.m[:nq*w], m.d[:nq*w]
	if cap(m.bonus) < w {
		m.bonus = make([]int32, w)
	}
	bonus := m.bonus[:w]
	for j := range w {
		bonus[j] = boundary(t, lo+j)
	}
	for i := range nq {
		row, prev := i*w, (i-1)*w
		qc := q[i]
		best := int32(neg)
		for j := range w {
			v := int32(neg)
			if lt[lo+j] == qc && j >= i {
				s := m.charScore(t, i, lo+j, bonus[j])
				if i == 0 {
					v = s
				} else if j > 0 {
					from := D[prev+j-1]
					if c := M[prev+j-1]; c > neg && c+bonusConsec > from {
						from = c + bonusConsec
					}
					if from > neg {
						v = s + from
					}
				}
			}
			M[row+j] = v
			if v > best {
				best = v
			}
			D[row+j] = best
		}
	}
	last := (nq - 1) * w
	score := D[last+w-1]
	if !trace {
		return int(score)
	}
	m.pos = m.pos[:0]
	for range nq {
		m.pos = append(m.pos, 0)
	}
	j := 0
	for M[last+j] != score {
		j++
	}
	for i := nq - 1; i >= 0; i-- {
		m.pos[i] = lo + j
		if i == 0 {
			break
		}
		v := M[i*w+j] - m.charScore(t, i, lo+j, bonus[j])
		prev := (i - 1) * w
		if c := M[prev+j-1]; c > neg && c+bonusConsec == v {
			j--
			continue
		}
		k := j - 1
		for M[prev+k] != v {
			k--
		}
		j = k
	}
	return int(score)
}

func (m *matcher) charScore(t string, i, j int, bonus int32) int32 {
	s := scoreChar + bonus
	if m.orig[i] == t[j] {
		s += bonusSameCase
	}
	return s
}

// boundary is the bonus for a match at t[j].
func boundary(t string, j int) int32 {
	if j == 0 {
		return bonusStart
	}
	p, c := t[j-1], t[j]
	switch {
	case p == '/':
		return bonusSegment
	case p == '_' || p == '-' || p == '.' || p == ' ':
		return bonusWord
	case p >= 'a' && p <= 'z' && c >= 'A' && c <= 'Z':
		return bonusCamel
	}
	return 0
}

// utf16Offsets converts byte offsets into s to UTF-16 code unit offsets.
func utf16Offsets(s string, pos []int) []int {
	out := make([]int, len(pos))
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		copy(out, pos)
		return out
	}
	u, k := 0, 0
	for b, r := range s {
		for k < len(pos) && pos[k] <= b {
			out[k] = u
			k++
		}
		u += len(utf16.Encode([]rune{r}))
	}
	for ; k < len(pos); k++ {
		out[k] = u
	}
	return out
}
