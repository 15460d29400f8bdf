package upload

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// pendingPrefix starts the name of every pending file; the rest is 32
// random hex digits.
const pendingPrefix = ".tmp-"

// Disk is a [Storage] in one local directory. Committed objects are files
// named by their UUID, mode 0600; pending ones are ".tmp-" followed by 32
// random hex digits in the same directory, so a commit is a rename within
// one file system: a reader sees the whole object or none. The data is
// synced before the rename and the directory after it, so a commit
// survives a crash once it returns. Files with other names in the
// directory are left alone and never listed.
//
// A Disk is safe for concurrent use. Several processes may share the
// directory (the names are random); it must not be served by a web server.
type Disk struct {
	dir string
}

// NewDisk returns the Storage in dir, creating it with mode 0700 if it is
// missing. An existing directory keeps its mode (the files in it are 0600
// whatever it is).
func NewDisk(dir string) (*Disk, error) {
	if dir == "" {
		return nil, errors.New("upload: no directory for uploads")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	switch fi, err := os.Stat(abs); {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return nil, fmt.Errorf("upload: %w", err)
		}
		// #nosec G302 -- a directory needs its x bit; 0700 is owner-only
		if err := os.Chmod(abs, 0o700); err != nil { // MkdirAll's mode is masked by the umask
			return nil, fmt.Errorf("upload: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("upload: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("upload: %s is not a directory", abs)
	}
	return &Disk{dir: abs}, nil
}

// Dir returns the directory, as an absolute path.
func (d *Disk) Dir() string { return d.dir }

// Write copies r into a new pending file and syncs it. When it fails the
// file is removed.
func (d *Disk) Write(ctx context.Context, r io.Reader) (Pending, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	var rnd [16]byte
	rand.Read(rnd[:])
	path := filepath.Join(d.dir, pendingPrefix+hex.EncodeToString(rnd[:]))
	// #nosec G304 -- a random hex name made here, in the upload directory
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	_, err = io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path) // the write error is the one to report
		return nil, fmt.Errorf("upload: write: %w", err)
	}
	return &diskPending{dir: d.dir, path: path}, nil
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// diskPending is a written file waiting for its name.
type diskPending struct {
	dir  string
	mu   sync.Mutex
	path string // "" once committed or aborted
	done string // "committed" or "aborted"
}

// Commit gives the file its name without replacing an existing object,
// then syncs the directory.
func (p *diskPending) Commit(ctx context.Context, name string) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: %q", ErrName, clip(name, 64))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.path == "" {
		return fmt.Errorf("upload: commit: object already %s", p.done)
	}
	if err := linkNoReplace(p.path, filepath.Join(p.dir, name)); err != nil {
		return fmt.Errorf("upload: commit: %w", err)
	}
	p.path, p.done = "", "committed"
	if err := syncDir(p.dir); err != nil {
		return fmt.Errorf("upload: commit: %w", err)
	}
	return nil
}

// linkNoReplace moves old to new, failing with fs.ErrExist if new exists.
// A hard link and an unlink do it atomically where links work; elsewhere
// it falls back to a check and a rename (names are random UUIDs, so the
// gap between the two is not a race anyone wins on purpose).
func linkNoReplace(old, new string) error {
	err := os.Link(old, new)
	if err == nil {
		return os.Remove(old)
	}
	if errors.Is(err, fs.ErrExist) {
		return err
	}
	if _, serr := os.Lstat(new); serr == nil {
		return &fs.PathError{Op: "rename", Path: new, Err: fs.ErrExist}
	}
	return os.Rename(old, new)
}

// Abort removes the pending file; after Commit or Abort it does nothing.
func (p *diskPending) Abort(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.path == "" {
		return nil
	}
	if err := os.Remove(p.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("upload: abort: %w", err)
	}
	p.path, p.done = "", "aborted"
	return nil
}

// syncDir makes the directory's entries (a rename) durable.
func syncDir(dir string) error {
	// #nosec G304 -- the upload directory itself
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open opens the committed object name. A pending object's name, as
// Walk reports it, is not found.
func (d *Disk) Open(ctx context.Context, name string) (Object, error) {
	if validPendingName(name) {
		return nil, fmt.Errorf("%w: %s is pending", ErrNotFound, name)
	}
	if !ValidName(name) {
		return nil, fmt.Errorf("%w: %q", ErrName, clip(name, 64))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	path := filepath.Join(d.dir, name)
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("upload: %s is not a regular file", name) // a symlink or directory put there by someone else
	}
	// #nosec G304 -- name passed ValidName (a UUID, no separators), so path stays in the upload directory
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("upload: %w", err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("upload: %s is not a regular file", name)
	}
	return &diskObject{File: f, size: fi.Size(), modTime: fi.ModTime()}, nil
}

// diskObject is an open committed file.
type diskObject struct {
	*os.File
	size    int64
	modTime time.Time
}

func (o *diskObject) Size() int64        { return o.size }
func (o *diskObject) ModTime() time.Time { return o.modTime }

// Delete removes the committed object name, or the pending one Walk
// reported as name. A missing object is not an error.
func (d *Disk) Delete(ctx context.Context, name string) error {
	if !ValidName(name) && !validPendingName(name) {
		return fmt.Errorf("%w: %q", ErrName, clip(name, 64))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	if err := os.Remove(filepath.Join(d.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("upload: %w", err)
	}
	return nil
}

// validPendingName reports whether name is a pending file's name.
func validPendingName(name string) bool {
	hexPart, ok := strings.CutPrefix(name, pendingPrefix)
	if !ok || len(hexPart) != 32 {
		return false
	}
	for i := 0; i < len(hexPart); i++ {
		if !isLowerHex(hexPart[i]) {
			return false
		}
	}
	return true
}

// Walk calls fn for each committed and pending file, in no set order,
// reading the directory a batch at a time. A file removed meanwhile is
// skipped.
func (d *Disk) Walk(ctx context.Context, fn func(name string, pending bool, modTime time.Time) error) error {
	dir, err := os.Open(d.dir)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer dir.Close()
	for {
		entries, err := dir.ReadDir(256)
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("upload: %w", err)
			}
			name := e.Name()
			pending := validPendingName(name)
			if !pending && !ValidName(name) || !e.Type().IsRegular() {
				continue
			}
			fi, ierr := e.Info()
			if errors.Is(ierr, fs.ErrNotExist) {
				continue
			}
			if ierr != nil {
				return fmt.Errorf("upload: %w", ierr)
			}
			if err := fn(name, pending, fi.ModTime()); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("upload: %w", err)
		}
	}
}
