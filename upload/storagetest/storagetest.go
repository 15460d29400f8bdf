// Package storagetest checks that an implementation of upload.Storage
// keeps the interface's promises: a pending object is invisible until
// committed, Abort removes it (and is a no-op after Commit), committed
// objects read and seek (ranged reads) with the right size and time, Walk
// reports both kinds with the right flag, Delete takes Walk's pending
// names and tolerates missing objects, and names other than UUIDs are
// refused with upload.ErrName. upload.Disk and package s3store run the same
// cases, and so can a storage written elsewhere:
//
//	func TestStorage(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) upload.Storage {
//			return newMyStorage(t) // fresh and empty for each case
//		})
//	}
package storagetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/upload"
)

// clockSlack is how far a stored modification time may be from this
// process's clock: a server's clock, and times kept to the second.
const clockSlack = time.Minute

// Run runs every case against storages from newStorage, each case in a
// subtest with a storage of its own, which must be empty.
func Run(t *testing.T, newStorage func(t *testing.T) upload.Storage) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, s upload.Storage)
	}{
		{"RoundTrip", roundTrip},
		{"EmptyObject", emptyObject},
		{"LargeObject", largeObject},
		{"PendingIsInvisible", pendingIsInvisible},
		{"AbortAfterCommit", abortAfterCommit},
		{"Walk", walk},
		{"WalkStops", walkStops},
		{"DeleteTakesPendingNames", deleteTakesPendingNames},
		{"DeleteMissing", deleteMissing},
		{"InvalidNames", invalidNames},
		{"WriteError", writeError},
		{"Concurrent", concurrent},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, newStorage(t)) })
	}
}

// roundTrip: write, commit, open, read, seek, size, time, delete.
func roundTrip(t *testing.T, s upload.Storage) {
	ctx := t.Context()
	data := content(100_000, 1)
	name := newName()
	before := time.Now()
	commit(t, s, data, name)
	after := time.Now()

	obj := open(t, s, name)
	if obj.Size() != int64(len(data)) {
		t.Errorf("Size = %d, want %d", obj.Size(), len(data))
	}
	checkTime(t, "ModTime", obj.ModTime(), before, after)
	if got := readAll(t, obj); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes that differ from the %d written", len(got), len(data))
	}
	// Ranged reads: into the middle, relative, from the end, back to the start.
	seek(t, obj, 40_000, io.SeekStart, 40_000)
	readExactly(t, obj, data[40_000:40_100])
	seek(t, obj, 1_000, io.SeekCurrent, 41_100)
	readExactly(t, obj, data[41_100:41_200])
	seek(t, obj, -10, io.SeekEnd, int64(len(data)-10))
	if got := readAll(t, obj); !bytes.Equal(got, data[len(data)-10:]) {
		t.Errorf("the last 10 bytes read as %x, want %x", got, data[len(data)-10:])
	}
	seek(t, obj, 0, io.SeekStart, 0)
	if got := readAll(t, obj); !bytes.Equal(got, data) {
		t.Error("reading again from the start gives other bytes")
	}
	if err := obj.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	if err := s.Delete(ctx, name); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Open(ctx, name); !errors.Is(err, upload.ErrNotFound) {
		t.Errorf("Open after Delete: %v, want upload.ErrNotFound", err)
	}
	if err := s.Delete(ctx, name); err != nil {
		t.Errorf("Delete again: %v", err)
	}
	if got := walkAll(t, s); len(got) != 0 {
		t.Errorf("Walk after Delete: %v", got)
	}
}

func emptyObject(t *testing.T, s upload.Storage) {
	name := newName()
	commit(t, s, nil, name)
	obj := open(t, s, name)
	if obj.Size() != 0 {
		t.Errorf("Size = %d, want 0", obj.Size())
	}
	if got := readAll(t, obj); len(got) != 0 {
		t.Errorf("read %d bytes from an empty object", len(got))
	}
}

// largeObject is over 5 MiB, so an S3 storage sends it in several parts.
func largeObject(t *testing.T, s upload.Storage) {
	data := content(6<<20+12_345, 2)
	name := newName()
	commit(t, s, data, name)
	obj := open(t, s, name)
	if obj.Size() != int64(len(data)) {
		t.Errorf("Size = %d, want %d", obj.Size(), len(data))
	}
	seek(t, obj, 5<<20-100, io.SeekStart, 5<<20-100)
	readExactly(t, obj, data[5<<20-100:5<<20+100]) // across the first part's end
	seek(t, obj, 0, io.SeekStart, 0)
	if got := readAll(t, obj); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes that differ from the %d written", len(got), len(data))
	}
}

func pendingIsInvisible(t *testing.T, s upload.Storage) {
	ctx := t.Context()
	before := time.Now()
	p := write(t, s, content(1000, 3))
	after := time.Now()
	entries := walkAll(t, s)
	if len(entries) != 1 || !entries[0].pending {
		t.Fatalf("Walk after Write: %v, want one pending object", entries)
	}
	checkTime(t, "the pending object's time", entries[0].modTime, before, after)
	for _, name := range []string{entries[0].name, newName()} {
		if _, err := s.Open(ctx, name); !errors.Is(err, upload.ErrNotFound) {
			t.Errorf("Open(%q) of a pending object: %v, want upload.ErrNotFound", name, err)
		}
	}
	if err := p.Abort(ctx); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if got := walkAll(t, s); len(got) != 0 {
		t.Errorf("Walk after Abort: %v", got)
	}
	if err := p.Abort(ctx); err != nil {
		t.Errorf("Abort again: %v", err)
	}
}

func abortAfterCommit(t *testing.T, s upload.Storage) {
	ctx := t.Context()
	data := content(1000, 4)
	p := write(t, s, data)
	name := newName()
	if err := p.Commit(ctx, name); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if err := p.Abort(ctx); err != nil {
		t.Fatalf("Abort after Commit: %v", err)
	}
	if got := readAll(t, open(t, s, name)); !bytes.Equal(got, data) {
		t.Error("Abort after Commit changed the object")
	}
	if got := walkAll(t, s); len(got) != 1 || got[0] != (entry{name: name, modTime: got[0].modTime}) {
		t.Errorf("Walk: %v, want only %s, committed", got, name)
	}
}

func walk(t *testing.T, s upload.Storage) {
	before := time.Now()
	committed := []string{newName(), newName()}
	for i, name := range committed {
		commit(t, s, content(100, uint64(10+i)), name)
	}
	for i := range 2 {
		write(t, s, content(100, uint64(20+i)))
	}
	after := time.Now()
	var pendingNames []string
	seen := map[string]bool{}
	for _, e := range walkAll(t, s) {
		if seen[e.name] {
			t.Errorf("Walk reported %s twice", e.name)
		}
		seen[e.name] = true
		checkTime(t, "Walk's time of "+e.name, e.modTime, before, after)
		if e.pending {
			pendingNames = append(pendingNames, e.name)
		} else if e.name != committed[0] && e.name != committed[1] {
			t.Errorf("Walk reported %s as committed; committed are %v", e.name, committed)
		}
	}
	for _, name := range committed {
		if !seen[name] {
			t.Errorf("Walk did not report committed %s", name)
		}
	}
	if len(pendingNames) != 2 {
		t.Errorf("Walk reported pending %v, want 2", pendingNames)
	}
}

func walkStops(t *testing.T, s upload.Storage) {
	for i := range 3 {
		commit(t, s, content(10, uint64(30+i)), newName())
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.Walk(t.Context(), func(string, bool, time.Time) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Walk with fn failing: %v after %d calls, want fn's error after 1", err, calls)
	}
}

// deleteTakesPendingNames is how a sweep removes what a crash left: Delete
// with the name Walk gave a pending object.
func deleteTakesPendingNames(t *testing.T, s upload.Storage) {
	ctx := t.Context()
	kept := newName()
	commit(t, s, content(10, 40), kept)
	p := write(t, s, content(10, 41))
	var pendingName string
	for _, e := range walkAll(t, s) {
		if e.pending {
			pendingName = e.name
		}
	}
	if pendingName == "" {
		t.Fatal("Walk reported no pending object")
	}
	if err := s.Delete(ctx, pendingName); err != nil {
		t.Fatalf("Delete(%q) of a pending object: %v", pendingName, err)
	}
	if got := walkAll(t, s); len(got) != 1 || got[0].name != kept || got[0].pending {
		t.Errorf("Walk after deleting the pending object: %v, want only %s", got, kept)
	}
	if err := p.Abort(ctx); err != nil {
		t.Errorf("Abort after its object was deleted: %v", err)
	}
}

func deleteMissing(t *testing.T, s upload.Storage) {
	ctx := t.Context()
	name := newName()
	if err := s.Delete(ctx, name); err != nil {
		t.Errorf("Delete of a missing object: %v", err)
	}
	if _, err := s.Open(ctx, name); !errors.Is(err, upload.ErrNotFound) {
		t.Errorf("Open of a missing object: %v, want upload.ErrNotFound", err)
	}
}

func invalidNames(t *testing.T, s upload.Storage) {
	ctx := t.Context()
	valid := newName()
	bad := []string{
		"", ".", "..", "../x", "a/b", "/etc/passwd", "x", "pending",
		"../" + valid, valid + "/", "a/" + valid, valid + "/..", valid + "\x00",
		strings.ToUpper(valid), "{" + valid + "}", valid[:35], valid + "0",
		strings.ReplaceAll(valid, "-", ""), strings.Replace(valid, "-", "/", 1),
	}
	p := write(t, s, content(10, 50))
	for _, name := range bad {
		if err := p.Commit(ctx, name); !errors.Is(err, upload.ErrName) {
			t.Errorf("Commit(%q): %v, want upload.ErrName", name, err)
		}
		if _, err := s.Open(ctx, name); !errors.Is(err, upload.ErrName) {
			t.Errorf("Open(%q): %v, want upload.ErrName", name, err)
		}
		if err := s.Delete(ctx, name); !errors.Is(err, upload.ErrName) {
			t.Errorf("Delete(%q): %v, want upload.ErrName", name, err)
		}
	}
	// A refused name leaves the pending object as it was.
	if err := p.Commit(ctx, valid); err != nil {
		t.Fatalf("Commit after refused names: %v", err)
	}
	if got := walkAll(t, s); len(got) != 1 || got[0].name != valid || got[0].pending {
		t.Errorf("Walk: %v, want only %s, committed", got, valid)
	}
}

// writeError: a failing reader fails Write with its error, and nothing is
// left behind.
func writeError(t *testing.T, s upload.Storage) {
	broken := errors.New("the reader broke")
	r := io.MultiReader(bytes.NewReader(content(1000, 60)), &failingReader{broken})
	p, err := s.Write(t.Context(), r)
	if !errors.Is(err, broken) {
		t.Fatalf("Write from a failing reader: %v, %v; want an error wrapping the reader's", p, err)
	}
	if got := walkAll(t, s); len(got) != 0 {
		t.Errorf("Walk after a failed Write: %v", got)
	}
}

func concurrent(t *testing.T, s upload.Storage) {
	const n = 4
	names := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		names[i] = newName()
		wg.Go(func() { commit(t, s, content(50_000, uint64(70+i)), names[i]) }) // #nosec G115 -- a small seed
	}
	wg.Wait()
	for i, name := range names {
		if got := readAll(t, open(t, s, name)); !bytes.Equal(got, content(50_000, uint64(70+i))) {
			t.Errorf("object %d read back wrong", i)
		}
	}
	if got := walkAll(t, s); len(got) != n {
		t.Errorf("Walk after %d concurrent uploads: %v", n, got)
	}
}

// entry is one call of Walk's fn.
type entry struct {
	name    string
	pending bool
	modTime time.Time
}

func (e entry) String() string {
	kind := "committed"
	if e.pending {
		kind = "pending"
	}
	return fmt.Sprintf("%s (%s, %s)", e.name, kind, e.modTime.Format(time.RFC3339))
}

func walkAll(t *testing.T, s upload.Storage) []entry {
	t.Helper()
	var out []entry
	err := s.Walk(t.Context(), func(name string, pending bool, modTime time.Time) error {
		out = append(out, entry{name, pending, modTime})
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return out
}

func write(t *testing.T, s upload.Storage, data []byte) upload.Pending {
	t.Helper()
	p, err := s.Write(t.Context(), bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return p
}

// commit writes data and commits it under name. It is safe to call from
// several goroutines (it reports with Error, not Fatal).
func commit(t *testing.T, s upload.Storage, data []byte, name string) {
	t.Helper()
	ctx := t.Context()
	p, err := s.Write(ctx, bytes.NewReader(data))
	if err != nil {
		t.Errorf("Write: %v", err)
		return
	}
	if err := p.Commit(ctx, name); err != nil {
		t.Errorf("Commit(%q): %v", name, err)
	}
}

func open(t *testing.T, s upload.Storage, name string) upload.Object {
	t.Helper()
	obj, err := s.Open(t.Context(), name)
	if err != nil {
		t.Fatalf("Open(%q): %v", name, err)
	}
	t.Cleanup(func() { _ = obj.Close() })
	return obj
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return b
}

func readExactly(t *testing.T, r io.Reader, want []byte) {
	t.Helper()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("read %d bytes: %v", len(want), err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("read %x…, want %x…", got[:8], want[:8])
	}
}

func seek(t *testing.T, s io.Seeker, offset int64, whence int, want int64) {
	t.Helper()
	got, err := s.Seek(offset, whence)
	if err != nil || got != want {
		t.Fatalf("Seek(%d, %d) = %d, %v; want %d", offset, whence, got, err, want)
	}
}

func checkTime(t *testing.T, what string, got, before, after time.Time) {
	t.Helper()
	if got.Before(before.Add(-clockSlack)) || got.After(after.Add(clockSlack)) {
		t.Errorf("%s = %v, want between %v and %v (±%v)", what, got, before, after, clockSlack)
	}
}

// content returns n reproducible bytes that differ with seed.
func content(n int, seed uint64) []byte {
	b := make([]byte, n)
	// #nosec G115 -- the seed's low bytes, truncation intended
	r := mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1})
	_, _ = r.Read(b) // ChaCha8.Read never fails
	return b
}

// newName returns a random UUID in the form upload.ValidName accepts.
func newName() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }
