package upload_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/upload"
	"github.com/bulwarkhq/bulwark/upload/storagetest"
)

// TestDiskContract runs the cases every Storage must pass.
func TestDiskContract(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) upload.Storage {
		d, err := upload.NewDisk(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

const testName = "0b0a1e8e-2f54-4c43-9e0f-6a1c9d3f5b21"

// TestDiskFiles checks what the contract cannot see: modes, where the
// temporary file is, and that a commit never replaces an object.
func TestDiskFiles(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "a", "uploads")
	d, err := upload.NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("dir: %v %v, want mode 0700", fi.Mode(), err)
	}
	p, err := d.Write(ctx, strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), ".tmp-") {
		t.Fatalf("after Write the directory holds %v, want one .tmp-* file", entries)
	}
	if err := p.Commit(ctx, testName); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, testName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("object: %v %v, want mode 0600", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("after Commit the directory holds %v", entries)
	}

	// A second object cannot take the name of the first.
	p2, err := d.Write(ctx, strings.NewReader("other"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Commit(ctx, testName); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Commit over an existing object: %v, want fs.ErrExist", err)
	}
	if err := p2.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, testName)); string(b) != "hello" {
		t.Errorf("object now holds %q", b)
	}
	// Commit twice, or after Abort, is refused.
	if err := p.Commit(ctx, "1b0a1e8e-2f54-4c43-9e0f-6a1c9d3f5b21"); err == nil {
		t.Error("second Commit succeeded")
	}
	if err := p2.Commit(ctx, "2b0a1e8e-2f54-4c43-9e0f-6a1c9d3f5b21"); err == nil {
		t.Error("Commit after Abort succeeded")
	}
}

// TestDiskForeignFiles: files the Disk did not make are neither listed
// nor reachable.
func TestDiskForeignFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"notes.txt", ".tmp-x", ".tmp-" + strings.Repeat("A", 32), strings.ToUpper(testName)} {
		os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600)
	}
	os.Mkdir(filepath.Join(dir, "0b0a1e8e-2f54-4c43-9e0f-6a1c9d3f5b22"), 0o700)
	d, err := upload.NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Walk(t.Context(), func(name string, pending bool, _ time.Time) error {
		t.Errorf("Walk listed %q", name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(t.Context(), "0b0a1e8e-2f54-4c43-9e0f-6a1c9d3f5b22"); err == nil {
		t.Error("Open of a directory succeeded")
	}
}

func TestNewDiskErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o600)
	for _, dir := range []string{"", file, filepath.Join(file, "sub")} {
		if _, err := upload.NewDisk(dir); err == nil || !strings.HasPrefix(err.Error(), "upload: ") {
			t.Errorf("NewDisk(%q) = %v", dir, err)
		}
	}
}

// TestDiskCancelled: a cancelled context stops a write and leaves nothing.
func TestDiskCancelled(t *testing.T) {
	d, _ := upload.NewDisk(t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := d.Write(ctx, bytes.NewReader(make([]byte, 1<<20))); err == nil {
		t.Fatal("Write with a cancelled context succeeded")
	}
	if entries, _ := os.ReadDir(d.Dir()); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
}
