// Package objstore is the platform's large-file storage: task inputs, task
// artifacts and user uploads kept in one bucket of an S3-compatible object
// store. The platform speaks to the store only through the S3 API (SigV4),
// so the versitygw that scripts/objstore.sh starts on this machine and any
// other S3-compatible service (a Ceph or SeaweedFS cluster, a cloud
// provider's) are interchangeable by configuration: one URL,
// http(s)://ACCESS:SECRET@HOST:PORT/BUCKET.
//
// Nodes and browsers never hold the store's credentials: they get presigned
// URLs, each for one key, one method and a short time (PresignGet,
// PresignPut), and move the bytes without the cloud in the data path.
package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// DefaultRegion is the region signed into requests when Options.Region is
// empty (versitygw's default, and what most S3-compatible servers accept).
const DefaultRegion = "us-east-1"

// MaxPresignTTL is the longest lifetime SigV4 allows a presigned URL.
const MaxPresignTTL = 7 * 24 * time.Hour

// ErrNotFound is returned (wrapped) for a key that does not exist.
var ErrNotFound = errors.New("object not found")

// Options says where the store is and how to sign in. Every field but
// Region, Secure and Transport is required.
type Options struct {
	// Endpoint is host:port, without a scheme or path.
	Endpoint string
	// AccessKey and SecretKey are the store's credentials. They never leave
	// the cloud: presigned URLs carry a signature made with them, not them.
	AccessKey, SecretKey string
	// Bucket holds every object of the platform.
	Bucket string
	// Region is signed into every request; empty means DefaultRegion.
	Region string
	// Secure selects https.
	Secure bool
	// Transport carries the requests; nil means minio-go's default.
	Transport http.RoundTripper
}

// String shows the options as a URL with the secret elided, so that a
// logged or printed Options never reveals it.
func (o Options) String() string {
	scheme := "http"
	if o.Secure {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, User: url.UserPassword(o.AccessKey, "xxxxx"), Host: o.Endpoint, Path: "/" + o.Bucket}
	if o.Region != "" && o.Region != DefaultRegion {
		u.RawQuery = url.Values{"region": {o.Region}}.Encode()
	}
	return u.String()
}

// ParseURL reads the one-line form scripts/objstore.sh prints:
// http(s)://ACCESS:SECRET@HOST:PORT/BUCKET, optionally with ?region=NAME.
// Its errors never repeat the secret.
func ParseURL(s string) (Options, error) {
	var o Options
	u, err := url.Parse(s)
	if err != nil {
		// url's errors quote the input, secret included.
		return o, errors.New("object store URL: not a URL (want http(s)://ACCESS:SECRET@HOST:PORT/BUCKET)")
	}
	switch u.Scheme {
	case "http":
	case "https":
		o.Secure = true
	default:
		return o, fmt.Errorf("object store URL: scheme %q: want http or https", u.Scheme)
	}
	if u.User == nil {
		return o, errors.New("object store URL: no credentials (want http(s)://ACCESS:SECRET@HOST:PORT/BUCKET)")
	}
	o.AccessKey = u.User.Username()
	o.SecretKey, _ = u.User.Password()
	if o.AccessKey == "" || o.SecretKey == "" {
		return o, errors.New("object store URL: both an access key and a secret are required (ACCESS:SECRET@)")
	}
	if u.Host == "" || u.Hostname() == "" {
		return o, errors.New("object store URL: no host")
	}
	o.Endpoint = u.Host
	o.Bucket = strings.TrimPrefix(u.Path, "/")
	if o.Bucket == "" {
		return o, errors.New("object store URL: no bucket (want .../BUCKET)")
	}
	if strings.Contains(o.Bucket, "/") {
		return o, fmt.Errorf("object store URL: path %q: want a bucket name only", u.Path)
	}
	if u.Fragment != "" {
		return o, errors.New("object store URL: a fragment (#...) is not allowed")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return o, fmt.Errorf("object store URL: query: %w", err)
	}
	for k, v := range q {
		if k != "region" || len(v) != 1 || v[0] == "" {
			return o, fmt.Errorf("object store URL: query %q: only one non-empty region=NAME is allowed", k)
		}
		o.Region = v[0]
	}
	return o, nil
}

// Store is one bucket of an S3-compatible store. It is safe for concurrent
// use.
type Store struct {
	c      *minio.Client
	bucket string
	region string
}

// New checks o and returns a Store for it. It sends no request: call
// EnsureBucket to check the store answers.
func New(o Options) (*Store, error) {
	if o.Endpoint == "" || o.AccessKey == "" || o.SecretKey == "" || o.Bucket == "" {
		return nil, errors.New("objstore: endpoint, access key, secret key and bucket are all required")
	}
	if err := validBucket(o.Bucket); err != nil {
		return nil, err
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	c, err := minio.New(o.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:    o.Secure,
		Region:    o.Region, // known, so presigning never asks the store for it
		Transport: o.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("objstore: %s: %w", o.Endpoint, err)
	}
	return &Store{c: c, bucket: o.Bucket, region: o.Region}, nil
}

// validBucket applies S3's bucket naming rules (3 to 63 of a-z, 0-9, '.',
// '-', starting and ending with a letter or digit).
func validBucket(b string) error {
	ok := len(b) >= 3 && len(b) <= 63
	for i := 0; ok && i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		ok = alnum || (c == '.' || c == '-') && i > 0 && i < len(b)-1
	}
	if !ok {
		return fmt.Errorf("objstore: bucket %q: want 3 to 63 of a-z, 0-9, . and -, starting and ending with a letter or digit", b)
	}
	return nil
}

// Bucket returns the store's bucket name.
func (s *Store) Bucket() string { return s.bucket }

// EnsureBucket creates the bucket when it does not exist. It is also the
// check that the store answers and accepts the credentials.
func (s *Store) EnsureBucket(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("objstore: bucket %s: %w", s.bucket, err)
	}
	if ok {
		return nil
	}
	err = s.c.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: s.region})
	if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" {
		err = nil // made by someone else since we asked
	}
	if err != nil {
		return fmt.Errorf("objstore: create bucket %s: %w", s.bucket, err)
	}
	return nil
}

func checkTTL(ttl time.Duration) error {
	if ttl < time.Second || ttl > MaxPresignTTL {
		return fmt.Errorf("objstore: presign lifetime %s: want 1s to %s", ttl, MaxPresignTTL)
	}
	return nil
}

// PresignGet returns a URL that downloads key with a plain GET until ttl
// has passed. The signature covers the method, the key and the expiry:
// edited, the URL is refused.
func (s *Store) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	u, err := s.c.PresignedGetObject(ctx, s.bucket, key, ttl, nil)
	if err != nil {
		return "", fmt.Errorf("objstore: presign get %s: %w", key, err)
	}
	return u.String(), nil
}

// PresignPut returns a URL that uploads key with a plain PUT (the body is
// the object) until ttl has passed. It cannot be used for another method or
// key.
func (s *Store) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	if err := checkTTL(ttl); err != nil {
		return "", err
	}
	u, err := s.c.PresignedPutObject(ctx, s.bucket, key, ttl)
	if err != nil {
		return "", fmt.Errorf("objstore: presign put %s: %w", key, err)
	}
	return u.String(), nil
}

// Put uploads size bytes from r as key, replacing any object there (in
// parts of minio-go's size, several at once, above 16 MiB).
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("objstore: put %s: size %d: must be known", key, size)
	}
	_, err := s.c.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		// The payload is not signed (UNSIGNED-PAYLOAD, as with a presigned
		// PUT): TLS, or loopback, protects it in flight, and hashing every
		// byte with SHA-256 cost a quarter of the throughput in the bench.
		DisableContentSha256: true,
	})
	if err != nil {
		return fmt.Errorf("objstore: put %s: %w", key, err)
	}
	return nil
}

// Get opens key for reading; the caller closes it. A missing key is
// ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err == nil {
		_, err = obj.Stat() // sends the request, so a missing key shows here
	}
	if err != nil {
		if obj != nil {
			obj.Close()
		}
		return nil, s.wrap("get", key, err)
	}
	return obj, nil
}

// Stat returns the size of key. A missing key is ErrNotFound.
func (s *Store) Stat(ctx context.Context, key string) (int64, error) {
	if err := ValidKey(key); err != nil {
		return 0, err
	}
	info, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return 0, s.wrap("stat", key, err)
	}
	return info.Size, nil
}

// RemovePrefix deletes every object under prefix, which must be a valid
// key followed by "/" (such as TaskPrefix's), so that no call can empty the
// bucket.
func (s *Store) RemovePrefix(ctx context.Context, prefix string) error {
	if !strings.HasSuffix(prefix, "/") {
		return fmt.Errorf("objstore: prefix %q: must end with /", prefix)
	}
	if err := ValidKey(strings.TrimSuffix(prefix, "/")); err != nil {
		return err
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	objs := s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true})
	var listErr error
	toRemove := make(chan minio.ObjectInfo)
	listed := make(chan struct{})
	go func() {
		defer close(listed)
		defer close(toRemove)
		for o := range objs {
			if o.Err != nil {
				listErr = o.Err
				return
			}
			select {
			case toRemove <- o:
			case <-ctx.Done():
				return
			}
		}
	}()
	var errs []error
	for e := range s.c.RemoveObjects(ctx, s.bucket, toRemove, minio.RemoveObjectsOptions{}) {
		errs = append(errs, fmt.Errorf("%s: %w", e.ObjectName, e.Err))
	}
	cancel() // should RemoveObjects have stopped reading early
	<-listed
	if err := parent.Err(); err != nil {
		errs = append(errs, err)
	} else if listErr != nil {
		errs = append(errs, fmt.Errorf("list: %w", listErr))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("objstore: remove %s: %w", prefix, err)
	}
	return nil
}

func (s *Store) wrap(op, key string, err error) error {
	r := minio.ToErrorResponse(err)
	if r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound && r.Code != "NoSuchBucket" {
		return fmt.Errorf("objstore: %s %s: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("objstore: %s %s: %w", op, key, err)
}
