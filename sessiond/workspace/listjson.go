package workspace

import (
	"strconv"
	"unicode/utf8"
)

// AppendListJSON appends the files API's listing document,
// {"path":...,"entries":[{"name","path","type","size","mtime"},...]}, to buf.
// Size and mtime are left out for names-only listings.
//
// It is written out by hand because it is the hot path of the 100,000-entry
// listing target: a generic encoder spent more time growing its buffer and
// reflecting over fields than the kernel spent reading the directory.
func AppendListJSON(buf []byte, dir string, entries []Entry, namesOnly bool) []byte {
	per := 64
	if !namesOnly {
		per = 96
	}
	if need := len(buf) + len(entries)*(per+2*len(dir)) + 64; cap(buf) < need {
		nb := make([]byte, len(buf), need)
		copy(nb, buf)
		buf = nb
	}
	buf = append(buf, `{"path":`...)
	buf = appendString(buf, dir)
	buf = append(buf, `,"entries":[`...)
	for i, e := range entries {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"name":`...)
		buf = appendString(buf, e.Name)
		buf = append(buf, `,"path":`...)
		buf = appendString(buf, e.Path)
		buf = append(buf, `,"type":"`...)
		buf = append(buf, e.Type...)
		buf = append(buf, '"')
		if !namesOnly {
			buf = append(buf, `,"size":`...)
			buf = strconv.AppendInt(buf, e.Size, 10)
			buf = append(buf, `,"mtime":`...)
			buf = strconv.AppendInt(buf, e.MTime, 10)
		}
		buf = append(buf, '}')
	}
	return append(buf, "]}"...)
}

// AppendNamesJSON appends the names-only listing document of n, the same
// bytes AppendListJSON gives for List with NamesOnly. Each name is escaped
// once and copied into both "name" and "path".
func AppendNamesJSON(buf []byte, n *Names) []byte {
	prefix := appendString(nil, n.Dir)
	prefix = prefix[1 : len(prefix)-1]
	if n.Dir == "." {
		prefix = prefix[:0]
	} else {
		prefix = append(prefix, '/')
	}
	if need := len(buf) + n.Len()*(64+len(prefix)) + 64; cap(buf) < need {
		nb := make([]byte, len(buf), need)
		copy(nb, buf)
		buf = nb
	}
	buf = append(buf, `{"path":`...)
	buf = appendString(buf, n.Dir)
	buf = append(buf, `,"entries":[`...)
	first := true
	n.each(func(name, typ string) {
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, `{"name":`...)
		at := len(buf)
		buf = appendString(buf, name)
		esc := buf[at+1 : len(buf)-1]
		buf = append(buf, `,"path":"`...)
		buf = append(buf, prefix...)
		buf = append(buf, esc...)
		buf = append(buf, `","type":"`...)
		buf = append(buf, typ...)
		buf = append(buf, `"}`...)
	})
	return append(buf, "]}"...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does; file names are bytes, JSON strings are not.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
