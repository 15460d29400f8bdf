package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/internal/testenv"
	"github.com/bulwarkhq/bulwark/upload"
	"github.com/bulwarkhq/bulwark/upload/storagetest"
	"github.com/minio/minio-go/v7"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newStore returns a Store on a fresh bucket of the shared versitygw.
func newStore(t *testing.T, prefix string) (*Store, testenv.S3Server) {
	t.Helper()
	srv := testenv.S3(t)
	s, err := New(t.Context(), Options{Endpoint: srv.Endpoint, Region: srv.Region, Bucket: srv.Bucket,
		AccessKeyID: srv.AccessKeyID, SecretAccessKey: srv.SecretAccessKey, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return s, srv
}

// The cases every upload.Storage must pass (upload.Disk runs the same
// table), against a real S3 server.
func TestStorage(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) upload.Storage { s, _ := newStore(t, ""); return s })
}

func TestStorageWithPrefix(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) upload.Storage { s, _ := newStore(t, "tenant-1/uploads"); return s })
}

// The keys are where the package doc says, and Walk offers nothing else
// in a shared bucket to a sweep.
func TestLayoutInSharedBucket(t *testing.T) {
	ctx := t.Context()
	s, _ := newStore(t, "app")
	name := "0b9e6e35-2b8c-4c3b-9d43-6f1a1b0e5a11"
	p, err := s.Write(ctx, strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	pendingKey := p.(*pending).key
	if !strings.HasPrefix(pendingKey, "app/pending/") || !upload.ValidName(strings.TrimPrefix(pendingKey, "app/pending/")) {
		t.Errorf("pending key %q", pendingKey)
	}
	if err := p.Commit(ctx, name); err != nil {
		t.Fatal(err)
	}
	keys := listKeys(t, s)
	if len(keys) != 1 || keys[0] != "app/"+name {
		t.Errorf("keys after Commit: %v, want [app/%s]", keys, name)
	}

	// Objects that are not the store's: other prefixes, deeper keys, other names.
	foreign := []string{"other", "app/readme.txt", "app/pending/x",
		"app/pending/" + name + "/deeper", "app/sub/" + name, name}
	for _, k := range foreign {
		if _, err := s.client.PutObject(ctx, s.bucket, k, strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	var seen []string
	err = s.Walk(ctx, func(n string, pending bool, _ time.Time) error {
		seen = append(seen, fmt.Sprint(n, pending))
		return nil
	})
	if err != nil || len(seen) != 1 || seen[0] != name+"false" {
		t.Errorf("Walk in a shared bucket: %v, %v; want only %s", seen, err, name)
	}
}

// Commit is a copy then a delete: a pending object whose delete did not
// happen (a crash between) is reported by Walk and removed by Delete.
func TestCrashBetweenCopyAndDelete(t *testing.T) {
	ctx := t.Context()
	s, _ := newStore(t, "")
	p, err := s.Write(ctx, strings.NewReader("data"))
	if err != nil {
		t.Fatal(err)
	}
	name := "6f0c3a52-9d1e-4a5b-8c7d-0e1f2a3b4c5d"
	key := p.(*pending).key
	// What Commit does before the crash: the copy only.
	if _, err := s.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: s.bucket, Object: name},
		minio.CopySrcOptions{Bucket: s.bucket, Object: key}); err != nil {
		t.Fatal(err)
	}
	var pendingName string
	s.Walk(ctx, func(n string, pending bool, _ time.Time) error {
		if pending {
			pendingName = n
		}
		return nil
	})
	if "pending/"+pendingName != key {
		t.Fatalf("Walk's pending name %q for key %q", pendingName, key)
	}
	if err := s.Delete(ctx, pendingName); err != nil {
		t.Fatal(err)
	}
	if keys := listKeys(t, s); len(keys) != 1 || keys[0] != name {
		t.Errorf("keys after the sweep: %v, want [%s]", keys, name)
	}
	obj, err := s.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if b, _ := io.ReadAll(obj); string(b) != "data" {
		t.Errorf("committed object reads %q", b)
	}
}

func TestWriteOverTheLimit(t *testing.T) {
	// The cap is tested on the reader alone: 5 GiB is too much to send here.
	c := &capReader{r: io.LimitReader(zeros{}, 100), left: 10}
	n, err := io.Copy(io.Discard, c)
	if !errors.Is(err, upload.ErrTooLarge) || n != 11 {
		t.Errorf("over the cap: read %d, %v; want 11 bytes then upload.ErrTooLarge", n, err)
	}
	c = &capReader{r: io.LimitReader(zeros{}, 10), left: 10}
	if n, err := io.Copy(io.Discard, c); err != nil || n != 10 {
		t.Errorf("at the cap: read %d, %v; want 10 bytes, no error", n, err)
	}
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) { clear(b); return len(b), nil }

// A Write that is cancelled leaves no object.
func TestWriteCancelled(t *testing.T) {
	s, _ := newStore(t, "")
	ctx, cancel := context.WithCancel(t.Context())
	r := io.MultiReader(bytes.NewReader(make([]byte, 6<<20)), readerFunc(func([]byte) (int, error) {
		cancel()
		return 0, context.Canceled
	}))
	if _, err := s.Write(ctx, r); err == nil {
		t.Fatal("Write succeeded after its context was cancelled")
	}
	if keys := listKeys(t, s); len(keys) != 0 {
		t.Errorf("keys after a cancelled Write: %v", keys)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

func TestNew(t *testing.T) {
	srv := testenv.S3(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	good := Options{Endpoint: srv.Endpoint, Region: srv.Region, Bucket: srv.Bucket,
		AccessKeyID: srv.AccessKeyID, SecretAccessKey: srv.SecretAccessKey}
	for _, c := range []struct {
		name   string
		change func(o *Options)
		want   string
	}{
		{"no such bucket", func(o *Options) { o.Bucket = "no-such-bucket" }, `bucket "no-such-bucket" does not exist`},
		{"wrong secret", func(o *Options) { o.SecretAccessKey = "wrong-secret-value" }, "check bucket"},
		{"no secret", func(o *Options) { o.SecretAccessKey = "" }, "AccessKeyID and SecretAccessKey are required"},
		{"no key id", func(o *Options) { o.AccessKeyID = "" }, "AccessKeyID and SecretAccessKey are required"},
		{"Secure over http", func(o *Options) { o.Secure = true }, "Secure is set but the endpoint is http://"},
		{"bad bucket", func(o *Options) { o.Bucket = "Bad_Bucket" }, "bucket name"},
		{"bad prefix", func(o *Options) { o.Prefix = "../up" }, "prefix"},
	} {
		o := good
		c.change(&o)
		_, err := New(ctx, o)
		if err == nil || !strings.HasPrefix(err.Error(), "s3store: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), srv.SecretAccessKey) || strings.Contains(err.Error(), "wrong-secret-value") {
			t.Errorf("%s: the error shows the secret: %v", c.name, err)
		}
	}
	if _, err := New(ctx, good); err != nil {
		t.Fatalf("good options: %v", err)
	}
	// The loopback host:port form chooses plain HTTP by itself.
	hostport := strings.TrimPrefix(srv.Endpoint, "http://")
	o := good
	o.Endpoint = hostport
	if _, err := New(ctx, o); err != nil {
		t.Errorf("endpoint %s: %v", hostport, err)
	}
}

func listKeys(t *testing.T, s *Store) []string {
	t.Helper()
	var keys []string
	for info := range s.client.ListObjects(t.Context(), s.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if info.Err != nil {
			t.Fatal(info.Err)
		}
		keys = append(keys, info.Key)
	}
	return keys
}
