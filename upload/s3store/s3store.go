// Package s3store keeps uploads in an S3-compatible bucket (Amazon S3,
// MinIO, Ceph RGW, Cloudflare R2, versitygw, …): an [upload.Storage] that
// several instances of a service can share. It is a package of its own so
// that a program storing uploads on local disk ([upload.Disk]) does not link
// an S3 client.
//
// # Layout and consistency
//
// A committed object is the key PREFIX+NAME, where NAME is the UUID the
// caller chose ([upload.ValidName]; anything else is refused with
// [upload.ErrName], so a name never becomes a path or another prefix). Write
// streams to PREFIX+"pending/"+UUID, a random name of its own. S3 has no
// rename, so Commit is a server-side copy to the final key (the bytes do
// not pass through this process again) followed by the removal of the
// pending key. A crash between the two leaves the pending object behind;
// Walk reports it as pending and Delete accepts its name, which is how the
// caller's sweep removes it. Walk reports only UUID-named keys directly
// under those two prefixes, so other objects in a shared bucket are never
// offered to a sweep.
//
// # Memory and size
//
// Write does not know the length of what it stores, so it sends a
// multipart upload in parts of 5 MiB: each Write in progress holds one
// 5 MiB buffer, whatever the size of the object. An object may be up to
// 5 GiB, the most S3 copies in one request; Write refuses more with an
// error wrapping [upload.ErrTooLarge]. If the process dies during a Write,
// the unfinished multipart upload is not an object (Walk does not see it)
// but its parts hold storage until removed: give the bucket a lifecycle
// rule that aborts incomplete multipart uploads after a day.
//
// An opened object reads through one GET; Seek makes the next Read a
// ranged GET from the new offset, so [net/http.ServeContent] answers Range
// requests without reading the object from the start. Size and ModTime come
// from a HEAD request made by Open.
//
// # Why minio-go
//
// The client is github.com/minio/minio-go/v7 rather than aws-sdk-go-v2,
// for two things this package would otherwise write itself: its Object is
// an io.ReadSeeker whose Seek turns the next Read into a ranged GET (what
// ServeContent needs), and its PutObject streams a reader of unknown length
// through one part buffer. The SDK returns a plain body stream from
// GetObject and needs its transfer manager for the second. Their weight is
// about the same (measured with a small program using each, 2026-11):
// minio-go links 19 modules and 59 packages, aws-sdk-go-v2 (s3,
// credentials, transfermanager) 13 modules, all its own, and 87 packages;
// both binaries are 11.4 MB. Both sign with AWS Signature Version 4 and
// speak to any S3-compatible server.
//
// # Transport security
//
// TLS is used unless the endpoint says http:// or is a loopback host:port
// (see [Options.Secure]). The secret access key is given to the request
// signer only; it is never part of an error, and [Options.String] redacts
// it.
package s3store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/bulwarkhq/bulwark/upload"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const (
	// partSize is the part of a multipart upload Write sends, and so the
	// memory each Write in progress holds. 5 MiB is S3's minimum part size.
	partSize = 5 << 20
	// MaxObjectSize is the largest object a Store keeps: 5 GiB, the most
	// S3 copies in one CopyObject request (Commit is a copy).
	MaxObjectSize = 5 << 30
	// pendingDir is where Write puts objects, below the prefix.
	pendingDir = "pending/"
	// cleanupTimeout bounds Commit's removal of the pending key, which
	// goes on when the caller's context ends (the copy is already made).
	cleanupTimeout = 30 * time.Second
)

// Store is an [upload.Storage] in an S3 bucket. It is safe for concurrent
// use.
type Store struct {
	client *minio.Client
	bucket string
	prefix string // "" or ending in '/'
}

var _ upload.Storage = (*Store)(nil)

// New checks o, connects to the endpoint and checks that the bucket exists
// and the keys can reach it. ctx bounds that check only.
func New(ctx context.Context, o Options) (*Store, error) {
	r, err := o.resolve()
	if err != nil {
		return nil, err
	}
	if o.AccessKeyID == "" || o.SecretAccessKey == "" {
		return nil, errors.New("s3store: AccessKeyID and SecretAccessKey are required")
	}
	client, err := minio.New(r.host, &minio.Options{
		Creds:  credentials.NewStaticV4(o.AccessKeyID, o.SecretAccessKey, ""),
		Secure: r.tls,
		Region: o.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("s3store: %w", err)
	}
	ok, err := client.BucketExists(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3store: check bucket %q at %s: %w", o.Bucket, r.host, err)
	}
	if !ok {
		return nil, fmt.Errorf("s3store: bucket %q does not exist at %s", o.Bucket, r.host)
	}
	return &Store{client: client, bucket: o.Bucket, prefix: r.prefix}, nil
}

// Write streams r to a new pending object. It reads r to its end; when
// reading r or storing fails it returns an error wrapping the cause (the
// reader's own error included) and removes what it stored.
func (s *Store) Write(ctx context.Context, r io.Reader) (upload.Pending, error) {
	id := newUUID()
	key := s.prefix + pendingDir + id
	capped := &capReader{r: r, left: MaxObjectSize}
	_, err := s.client.PutObject(ctx, s.bucket, key, capped, -1, minio.PutObjectOptions{
		PartSize:    partSize,
		ContentType: "application/octet-stream",
	})
	if err != nil {
		// PutObject aborts its multipart upload on failure; nothing is left.
		return nil, fmt.Errorf("s3store: write: %w", err)
	}
	return &pending{s: s, key: key}, nil
}

// Open returns the committed object name, an error wrapping
// [upload.ErrNotFound] if there is none. The object reads with ctx.
func (s *Store) Open(ctx context.Context, name string) (upload.Object, error) {
	if !upload.ValidName(name) {
		return nil, nameError("open", name)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+name, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("s3store: open %s: %w", name, err)
	}
	info, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		if isNoSuchKey(err) {
			return nil, fmt.Errorf("s3store: open %s: %w", name, upload.ErrNotFound)
		}
		return nil, fmt.Errorf("s3store: open %s: %w", name, err)
	}
	return &object{Object: obj, size: info.Size, modTime: info.LastModified}, nil
}

// Delete removes the committed object name, and the pending object of that
// name if Walk reported one (a crash's leftover). A missing object is not
// an error.
func (s *Store) Delete(ctx context.Context, name string) error {
	if !upload.ValidName(name) {
		return nameError("delete", name)
	}
	for _, key := range []string{s.prefix + name, s.prefix + pendingDir + name} {
		if err := s.remove(ctx, key); err != nil {
			return fmt.Errorf("s3store: delete %s: %w", name, err)
		}
	}
	return nil
}

// Walk calls fn for each committed object, then for each pending one,
// with the time it was stored. An error from fn stops the walk and is
// returned as it is.
func (s *Store) Walk(ctx context.Context, fn func(name string, pending bool, modTime time.Time) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the listing's goroutine if fn stops the walk
	for _, list := range []struct {
		prefix  string
		pending bool
	}{{s.prefix, false}, {s.prefix + pendingDir, true}} {
		// Not recursive: the pending directory and anything deeper are
		// common prefixes, skipped below like any name that is not a UUID.
		for info := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: list.prefix}) {
			if info.Err != nil {
				return fmt.Errorf("s3store: list %s: %w", s.bucket, info.Err)
			}
			name, ok := strings.CutPrefix(info.Key, list.prefix)
			if !ok || !upload.ValidName(name) {
				continue
			}
			if err := fn(name, list.pending, info.LastModified); err != nil {
				return err
			}
		}
	}
	return nil
}

// remove deletes key; a missing key is not an error.
func (s *Store) remove(ctx context.Context, key string) error {
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && !isNoSuchKey(err) {
		return err
	}
	return nil
}

// pending is a Write's object until Commit or Abort.
type pending struct {
	s   *Store
	key string

	mu        sync.Mutex
	committed bool
	aborted   bool
}

// Commit copies the pending object to its final key on the server, then
// removes the pending key. It succeeds once the copy exists, even if that
// removal fails: the sweep removes the leftover (Walk reports it pending).
func (p *pending) Commit(ctx context.Context, name string) error {
	if !upload.ValidName(name) {
		return nameError("commit", name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.committed:
		return errors.New("s3store: commit: the object is already committed")
	case p.aborted:
		return errors.New("s3store: commit: the object was aborted")
	}
	s := p.s
	_, err := s.client.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.bucket, Object: s.prefix + name},
		minio.CopySrcOptions{Bucket: s.bucket, Object: p.key})
	if err != nil {
		return fmt.Errorf("s3store: commit %s: %w", name, err)
	}
	p.committed = true
	// The copy is what counts: a failure here leaves work for the sweep only.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_ = s.remove(ctx, p.key)
	return nil
}

// Abort removes the pending object; after a successful Commit it does
// nothing.
func (p *pending) Abort(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.committed {
		return nil
	}
	if err := p.s.remove(ctx, p.key); err != nil {
		return fmt.Errorf("s3store: abort: %w", err)
	}
	p.aborted = true
	return nil
}

// object is an opened committed object: minio's Object (Read, Seek by
// ranged GETs, Close) with the size and time of Open's HEAD.
type object struct {
	*minio.Object
	size    int64
	modTime time.Time
}

func (o *object) Size() int64        { return o.size }
func (o *object) ModTime() time.Time { return o.modTime }

// capReader fails once more than left bytes have been read.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(b []byte) (int, error) {
	if c.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(b)) > c.left+1 {
		b = b[:c.left+1]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	if c.left < 0 {
		return n, errTooLarge
	}
	return n, err
}

var errTooLarge = fmt.Errorf("s3store: the object is over %d bytes, the most one S3 copy takes: %w", int64(MaxObjectSize), upload.ErrTooLarge)

// isNoSuchKey reports whether err is S3's answer for a missing object.
func isNoSuchKey(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchKey" || (r.Code == "NotFound" && r.StatusCode == 404)
}

func nameError(op, name string) error {
	return fmt.Errorf("s3store: %s %q: %w", op, clip(name), upload.ErrName)
}

// newUUID returns a random (version 4) UUID for a pending object.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
