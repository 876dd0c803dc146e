package objstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gatewave.dev/shared/testenv"
)

// countingTransport counts the requests that reach the network.
type countingTransport struct {
	n  atomic.Int64
	rt http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// newStore returns a Store on the real object store (versitygw from
// scripts/objstore.sh unless GATEWAVE_TEST_S3_URL names another), its
// request counter, and a fresh task id whose prefix is removed when t ends.
func newStore(t testing.TB) (*Store, *countingTransport, func() int64) {
	t.Helper()
	o, err := ParseURL(testenv.ObjectStoreURL(t))
	if err != nil {
		t.Fatal(err)
	}
	ct := &countingTransport{rt: http.DefaultTransport.(*http.Transport).Clone()}
	o.Transport = ct
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureBucket(testenv.Context(t, testenv.WaitShort)); err != nil {
		t.Fatal(err)
	}
	taskID := func() int64 {
		var b [8]byte
		rand.Read(b[:])
		id := int64(binary.BigEndian.Uint64(b[:])>>24) + 1 // random (below 2^40), so runs never share a prefix
		t.Cleanup(func() {
			p, _ := TaskPrefix(id)
			if err := s.RemovePrefix(context.Background(), p); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
		return id
	}
	return s, ct, taskID
}

// mustKey(t)(TaskArtifactKey(...)) is the key, or fails t.
func mustKey(t testing.TB) func(string, error) string {
	return func(k string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
}

func put(t testing.TB, s *Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(testenv.Context(t, testenv.WaitShort), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
}

func get(t testing.TB, s *Store, key string) []byte {
	t.Helper()
	r, err := s.Get(testenv.Context(t, testenv.WaitShort), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// do sends one plain net/http request, as a node or a browser holding a
// presigned URL would, and returns the status and body.
func do(t testing.TB, method, url string, body []byte) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(testenv.Context(t, testenv.WaitShort), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestRoundTrip(t *testing.T) {
	s, _, taskID := newStore(t)
	ctx := testenv.Context(t, testenv.WaitShort)
	id := taskID()
	key := mustKey(t)(UploadKey(id, "src/top.v"))
	data := []byte("module top(input clk, output led); endmodule\n")
	put(t, s, key, data)
	if n, err := s.Stat(ctx, key); err != nil || n != int64(len(data)) {
		t.Fatalf("Stat = %d, %v; want %d", n, err, len(data))
	}
	if got := get(t, s, key); !bytes.Equal(got, data) {
		t.Fatalf("Get = %q; want %q", got, data)
	}
	// Put replaces; an empty object is an object.
	put(t, s, key, nil)
	if n, err := s.Stat(ctx, key); err != nil || n != 0 {
		t.Fatalf("Stat after replacing with an empty object = %d, %v", n, err)
	}
	// A short reader is an error, not a truncated object.
	if err := s.Put(ctx, key, bytes.NewReader(data[:3]), int64(len(data))); err == nil {
		t.Fatal("Put with fewer bytes than its size succeeded")
	}
	if n, err := s.Stat(ctx, key); err != nil || n != 0 {
		t.Fatalf("Stat after a failed Put = %d, %v; want the empty object still", n, err)
	}
}

// refusedFor checks the S3 error code, so that a 403 is refused for the
// reason the test attacks.
func refusedFor(t testing.TB, code int, body []byte, s3code string) {
	t.Helper()
	if code != http.StatusForbidden || !bytes.Contains(body, []byte("<Code>"+s3code+"</Code>")) {
		t.Fatalf("got %d %q; want 403 %s", code, body, s3code)
	}
}

func TestMissingKeyIsErrNotFound(t *testing.T) {
	s, _, taskID := newStore(t)
	ctx := testenv.Context(t, testenv.WaitShort)
	key := mustKey(t)(TaskArtifactKey(taskID(), 1, "never/written.bin"))
	if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat of a missing key: %v; want ErrNotFound", err)
	}
	if r, err := s.Get(ctx, key); !errors.Is(err, ErrNotFound) {
		if r != nil {
			r.Close()
		}
		t.Fatalf("Get of a missing key: %v; want ErrNotFound", err)
	}
}

func TestPresignedPutThenGet(t *testing.T) {
	s, _, taskID := newStore(t)
	ctx := testenv.Context(t, testenv.WaitShort)
	key := mustKey(t)(TaskArtifactKey(taskID(), 1, "build/top.bin"))
	data := make([]byte, 1<<20+17)
	rand.Read(data)

	putURL, err := s.PresignPut(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, http.MethodPut, putURL, data); code != http.StatusOK {
		t.Fatalf("presigned PUT: %d %s", code, body)
	}
	if n, err := s.Stat(ctx, key); err != nil || n != int64(len(data)) {
		t.Fatalf("Stat after the presigned PUT = %d, %v; want %d", n, err, len(data))
	}
	getURL, err := s.PresignGet(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	code, body := do(t, http.MethodGet, getURL, nil)
	if code != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("presigned GET: %d, %d bytes; want 200 and the %d bytes put", code, len(body), len(data))
	}
}

// The store, not our code, refuses a URL past its expiry.
func TestPresignedURLExpires(t *testing.T) {
	s, _, taskID := newStore(t)
	ctx := testenv.Context(t, testenv.WaitShort)
	key := mustKey(t)(TaskArtifactKey(taskID(), 1, "result.txt"))
	data := []byte("done\n")
	put(t, s, key, data)

	// X-Amz-Date has whole seconds, so a 2 s URL lives 1 to 2 s.
	signed := time.Now()
	getURL, err := s.PresignGet(ctx, key, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	putURL, err := s.PresignPut(ctx, key, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, http.MethodGet, getURL, nil); code != http.StatusOK || !bytes.Equal(body, data) {
		t.Fatalf("GET before expiry: %d %q", code, body)
	}
	time.Sleep(time.Until(signed.Add(3 * time.Second)))
	code, body := do(t, http.MethodGet, getURL, nil)
	refusedFor(t, code, body, "AccessDenied")
	code, body = do(t, http.MethodPut, putURL, []byte("forged"))
	refusedFor(t, code, body, "AccessDenied")
	if got := get(t, s, key); !bytes.Equal(got, data) {
		t.Fatalf("object changed by an expired PUT: %q", got)
	}
}

// A node holding task A's URLs attacks task B's prefix by editing them: the
// signature covers the path and the expiry, so every edit is refused.
func TestPresignedURLCannotReachAnotherTask(t *testing.T) {
	s, _, taskID := newStore(t)
	ctx := testenv.Context(t, testenv.WaitShort)
	a, b := taskID(), taskID()
	keyA := mustKey(t)(TaskArtifactKey(a, 1, "out.bin"))
	keyB := mustKey(t)(TaskArtifactKey(b, 1, "out.bin"))
	inB := mustKey(t)(UploadKey(b, "secret.v"))
	dataA, dataB := []byte("task A's artifact"), []byte("task B's artifact")
	put(t, s, keyA, dataA)
	put(t, s, keyB, dataB)
	put(t, s, inB, dataB)

	getA, err := s.PresignGet(ctx, keyA, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	putA, err := s.PresignPut(ctx, keyA, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, http.MethodGet, getA, nil); code != http.StatusOK || !bytes.Equal(body, dataA) {
		t.Fatalf("GET of A's own key: %d %q", code, body)
	}
	edits := map[string]func(string) string{
		"other task's artifact": func(u string) string { return strings.Replace(u, keyA, keyB, 1) },
		"other task's input":    func(u string) string { return strings.Replace(u, keyA, inB, 1) },
		"dot-dot to other task": func(u string) string {
			return strings.Replace(u, keyA, mustKey(t)(TaskPrefix(a))+"../"+strings.TrimPrefix(keyB, "tasks/"), 1)
		},
		"longer expiry": func(u string) string { return strings.Replace(u, "X-Amz-Expires=60", "X-Amz-Expires=604800", 1) },
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			if edit(getA) == getA || edit(putA) == putA {
				t.Fatalf("edit left the URL as it was: %s", getA)
			}
			code, body := do(t, http.MethodGet, edit(getA), nil)
			refusedFor(t, code, body, "SignatureDoesNotMatch")
			code, body = do(t, http.MethodPut, edit(putA), []byte("overwritten by A"))
			refusedFor(t, code, body, "SignatureDoesNotMatch")
		})
	}
	if got := get(t, s, keyB); !bytes.Equal(got, dataB) {
		t.Fatalf("B's artifact changed: %q", got)
	}
	if got := get(t, s, inB); !bytes.Equal(got, dataB) {
		t.Fatalf("B's input changed: %q", got)
	}
}

// The signature covers the method: an upload link cannot download, delete
// or list, and a download link cannot upload or delete.
func TestPresignedURLIsForItsMethodOnly(t *testing.T) {
	s, _, taskID := newStore(t)
	ctx := testenv.Context(t, testenv.WaitShort)
	key := mustKey(t)(UploadKey(taskID(), "top.v"))
	data := []byte("module top; endmodule\n")
	put(t, s, key, data)
	putURL, err := s.PresignPut(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	getURL, err := s.PresignGet(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, url string
	}{
		{http.MethodGet, putURL}, {http.MethodHead, putURL}, {http.MethodDelete, putURL},
		{http.MethodPut, getURL}, {http.MethodDelete, getURL}, {http.MethodPost, getURL},
	} {
		var body []byte
		if c.method == http.MethodPut || c.method == http.MethodPost {
			body = []byte("forged")
		}
		code, got := do(t, c.method, c.url, body)
		// A POST to an object is no S3 operation at all (405).
		refused := code == http.StatusForbidden || c.method == http.MethodPost && code == http.StatusMethodNotAllowed
		if !refused || bytes.Contains(got, data) {
			t.Errorf("%s with a URL signed for another method: %d %q; want 403", c.method, code, got)
		}
	}
	if got := get(t, s, key); !bytes.Equal(got, data) {
		t.Fatalf("object changed: %q", got)
	}
}

// Bad keys never reach the store: the transport sees no request.
func TestBadKeysRefusedBeforeAnyRequest(t *testing.T) {
	s, ct, taskID := newStore(t)
	ctx := testenv.Context(t, testenv.WaitShort)
	prefix := mustKey(t)(TaskPrefix(taskID()))
	bad := append([]string{}, badPaths...)
	for _, p := range badPaths {
		if p != "" {
			bad = append(bad, prefix+"in/"+p)
		}
	}
	bad = append(bad, "tasks/1/in/"+strings.Repeat("d/", 507)+"f")
	before := ct.n.Load()
	for _, k := range bad {
		if _, err := s.Stat(ctx, k); err == nil {
			t.Errorf("Stat(%q) succeeded", k)
		}
		if r, err := s.Get(ctx, k); err == nil {
			r.Close()
			t.Errorf("Get(%q) succeeded", k)
		}
		if err := s.Put(ctx, k, strings.NewReader("x"), 1); err == nil {
			t.Errorf("Put(%q) succeeded", k)
		}
		if u, err := s.PresignGet(ctx, k, time.Minute); err == nil {
			t.Errorf("PresignGet(%q) = %s", k, u)
		}
		if u, err := s.PresignPut(ctx, k, time.Minute); err == nil {
			t.Errorf("PresignPut(%q) = %s", k, u)
		}
		if err := s.RemovePrefix(ctx, k+"/"); err == nil {
			t.Errorf("RemovePrefix(%q) succeeded", k+"/")
		}
	}
	for _, ttl := range []time.Duration{0, -time.Second, 999 * time.Millisecond, MaxPresignTTL + time.Second} {
		if u, err := s.PresignGet(ctx, prefix+"in/a", ttl); err == nil {
			t.Errorf("PresignGet with ttl %s = %s", ttl, u)
		}
	}
	if err := s.Put(ctx, prefix+"in/a", strings.NewReader("x"), -1); err == nil {
		t.Error("Put of unknown size succeeded")
	}
	if n := ct.n.Load() - before; n != 0 {
		t.Fatalf("%d requests reached the store for bad keys", n)
	}
	// The counter does count: a good key's Stat is a request.
	if _, err := s.Stat(ctx, prefix+"in/a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat of a good missing key: %v", err)
	}
	if ct.n.Load() == before {
		t.Fatal("the request counter saw no request for a good key")
	}
}

func TestRemovePrefix(t *testing.T) {
	s, _, taskID := newStore(t)
	ctx := testenv.Context(t, testenv.WaitShort)
	a := taskID()
	// Task a*10+... shares a's digits as a string prefix: "tasks/12/" must
	// not remove "tasks/123/".
	sibling := a*10 + 3
	t.Cleanup(func() { s.RemovePrefix(context.Background(), mustKey(t)(TaskPrefix(sibling))) })
	var keys []string
	for i, p := range []string{"one", "dir/two", "dir/sub/three"} {
		in := mustKey(t)(TaskArtifactKey(a, 2, p)) // every attempt of the task
		out := mustKey(t)(TaskArtifactKey(a, 1, p))
		put(t, s, in, []byte{byte(i)})
		put(t, s, out, []byte{byte(i)})
		keys = append(keys, in, out)
	}
	keep := mustKey(t)(TaskArtifactKey(sibling, 1, "one"))
	put(t, s, keep, []byte("sibling"))

	for _, p := range []string{"", "/", "tasks", "tasks//", "../", "tasks/../"} {
		if err := s.RemovePrefix(ctx, p); err == nil {
			t.Errorf("RemovePrefix(%q) succeeded", p)
		}
	}
	if err := s.RemovePrefix(ctx, mustKey(t)(TaskPrefix(a))); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if _, err := s.Stat(ctx, k); !errors.Is(err, ErrNotFound) {
			t.Errorf("Stat(%q) after RemovePrefix: %v; want ErrNotFound", k, err)
		}
	}
	if got := get(t, s, keep); string(got) != "sibling" {
		t.Fatalf("sibling task's object: %q", got)
	}
	// Removing an empty prefix is fine.
	if err := s.RemovePrefix(ctx, mustKey(t)(TaskPrefix(a))); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureBucketCreatesIt(t *testing.T) {
	o, err := ParseURL(testenv.ObjectStoreURL(t))
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	o.Bucket = "gatewave-test-" + hex.EncodeToString(b[:])
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Context(t, testenv.WaitShort)
	if ok, err := s.c.BucketExists(ctx, o.Bucket); err != nil || ok {
		t.Fatalf("fresh bucket exists = %v, %v", ok, err)
	}
	for range 2 { // the second call finds it
		if err := s.EnsureBucket(ctx); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if err := s.c.RemoveBucket(context.Background(), o.Bucket); err != nil {
			t.Errorf("remove bucket: %v", err)
		}
	})
	key := "users/1/uploads/a"
	put(t, s, key, []byte("a"))
	if err := s.RemovePrefix(ctx, "users/1/"); err != nil {
		t.Fatal(err)
	}
}

func TestWrongSecretIsRefused(t *testing.T) {
	o, err := ParseURL(testenv.ObjectStoreURL(t))
	if err != nil {
		t.Fatal(err)
	}
	o.SecretKey += "x"
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Context(t, testenv.WaitShort)
	if err := s.EnsureBucket(ctx); err == nil {
		t.Fatal("EnsureBucket with a wrong secret succeeded")
	}
	// A URL signed with the wrong secret is refused too.
	u, err := s.PresignGet(ctx, "tasks/1/in/a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := do(t, http.MethodGet, u, nil); code != http.StatusForbidden {
		t.Fatalf("GET signed with a wrong secret: %d %q", code, body)
	}
}
