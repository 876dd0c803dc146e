package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"sync"
	"syscall"
)

// HashCache remembers SHA-256 content hashes keyed by path, size, mtime and
// inode, so a file that has not changed is never read twice to answer an
// ETag or a bitstream listing.
type HashCache struct {
	mu sync.Mutex
	m  map[hashKey]string
}

type hashKey struct {
	path  string
	size  int64
	mtime int64
	ino   uint64
}

const hashCacheMax = 8192

// NewHashCache returns an empty cache.
func NewHashCache() *HashCache { return &HashCache{m: map[hashKey]string{}} }

func keyOf(rel string, fi fs.FileInfo) hashKey {
	k := hashKey{path: rel, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.ino = st.Ino
	}
	return k
}

// Get returns the cached hash for rel as described by fi, if any.
func (c *HashCache) Get(rel string, fi fs.FileInfo) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.m[keyOf(rel, fi)]
	return h, ok
}

// Put records the hash of rel as described by fi.
func (c *HashCache) Put(rel string, fi fs.FileInfo, sum string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= hashCacheMax {
		// Drop about half, in map order: cheap and good enough for a cache
		// whose misses only cost a re-read.
		n := 0
		for k := range c.m {
			delete(c.m, k)
			if n++; n >= hashCacheMax/2 {
				break
			}
		}
	}
	c.m[keyOf(rel, fi)] = sum
}

// Hash returns the SHA-256 of rel's contents, from the cache when size, mtime
// and inode are unchanged.
func (w *Workspace) Hash(rel string) (string, fs.FileInfo, error) {
	f, err := w.root.Open(rel)
	if err != nil {
		return "", nil, mapErr("hash", rel, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", nil, mapErr("hash", rel, err)
	}
	if !fi.Mode().IsRegular() {
		return "", nil, mapErr("hash", rel, syscall.EISDIR)
	}
	if h, ok := w.Hashes.Get(rel, fi); ok {
		return h, fi, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", nil, fmt.Errorf("hash %q: %w", rel, stripPath(err))
	}
	sum := hex.EncodeToString(h.Sum(nil))
	w.Hashes.Put(rel, fi, sum)
	return sum, fi, nil
}

// pathLocks serialises writers of the same path, so that the If-Match check
// and the rename that follows it are one step for concurrent requests.
type pathLocks struct {
	stripes [64]sync.Mutex
	seed    maphash.Seed
	once    sync.Once
}

func (p *pathLocks) stripeOf(rel string) int {
	p.once.Do(func() { p.seed = maphash.MakeSeed() })
	return int(maphash.String(p.seed, rel) % uint64(len(p.stripes)))
}

func (p *pathLocks) lock(rel string) func() {
	m := &p.stripes[p.stripeOf(rel)]
	m.Lock()
	return m.Unlock
}

// lockPair locks the stripes of two paths in index order, so two moves in
// opposite directions cannot deadlock.
func (p *pathLocks) lockPair(a, b string) func() {
	i, j := p.stripeOf(a), p.stripeOf(b)
	if i > j {
		i, j = j, i
	}
	p.stripes[i].Lock()
	if i != j {
		p.stripes[j].Lock()
	}
	return func() {
		if i != j {
			p.stripes[j].Unlock()
		}
		p.stripes[i].Unlock()
	}
}
