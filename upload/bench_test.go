package upload

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// discardStorage reads and drops every write: the receiver's own cost.
type discardStorage struct{ memStorage }

type nopPending struct{}

func (nopPending) Commit(context.Context, string) error { return nil }
func (nopPending) Abort(context.Context) error          { return nil }

func (*discardStorage) Write(_ context.Context, r io.Reader) (Pending, error) {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, err
	}
	return nopPending{}, nil
}

// body16MiB is a form whose file makes the body just under 16 MiB.
func body16MiB(b *testing.B) []byte {
	const total = 16 << 20
	png := string(pngBytes(b))
	overhead := len(formBody(token(), filePart("photo.png", png)))
	return formBody(token(), filePart("photo.png", png+strings.Repeat("\x00", total-overhead)))
}

func benchmarkReceive(b *testing.B, s Storage) {
	body := body16MiB(b)
	rc, err := NewReceiver(Options{Storage: s})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/files", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		f, err := rc.Receive(context.Background(), r)
		if err != nil {
			b.Fatal(err)
		}
		f.Pending.Abort(context.Background())
	}
}

// BenchmarkReceive16MiB receives a 16 MiB upload: parsing, sniffing,
// hashing and counting, storage dropped. B/op must stay under 1 MiB.
func BenchmarkReceive16MiB(b *testing.B) { benchmarkReceive(b, &discardStorage{}) }

// BenchmarkReceive16MiBDisk adds Disk: a temporary file, fsync, removal.
func BenchmarkReceive16MiBDisk(b *testing.B) {
	d, err := NewDisk(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	benchmarkReceive(b, d)
}

// BenchmarkReceiveRefused measures a refusal by type (an HTML page named
// a.png), which reads only the first part and the file's first 4 KiB.
func BenchmarkReceiveRefused(b *testing.B) {
	body := formBody(token(), filePart("a.png", htmlPage+strings.Repeat("x", 1<<20)))
	rc, _ := NewReceiver(Options{Storage: &discardStorage{}})
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "/files", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		if _, err := rc.Receive(context.Background(), r); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkSecureFilename(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		SecureFilename("i contain cool ümläuts.txt")
	}
}

func BenchmarkStoredName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		StoredName("../../Ferien Foto 2024.PNG", "png")
	}
}

func BenchmarkCheck(b *testing.B) {
	types, _ := NewTypes(DefaultExtensions())
	head := pngBytes(b)
	b.ReportAllocs()
	for b.Loop() {
		types.Check("a.png", head)
	}
}
