package secrets

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// DevKeyFile is the name of the development key file inside the data
// directory.
const DevKeyFile = "secret_key"

// DevKey returns the development signing key kept in
// filepath.Join(dataDir, DevKeyFile), creating it on first use, so that
// `bulwark serve` works with no set-up and sessions survive restarts.
//
// On first use it creates dataDir (mode 0700) if needed and writes 32 random
// bytes, hex-encoded (64 characters and a newline), to a file of mode 0600.
// The key material is the hex text, exactly as if SECRET_KEY had been set to
// it. The file appears atomically and only once: it is written under a
// temporary name and then hard-linked into place, which fails if the file
// already exists, so two processes starting together end up with the same
// key and nobody ever reads a half-written file.
//
// An existing file is refused, rather than used, when group or others may
// read or write it (the error says to run chmod 600), when it is not a
// regular file, or when its content fails CheckStrength.
//
// The development key is for development only; production must set
// SECRET_KEY.
func DevKey(dataDir string) (Secret, error) {
	if dataDir == "" {
		return Secret{}, errors.New("secrets: dev key: data directory is empty")
	}
	path := filepath.Join(dataDir, DevKeyFile)
	s, err := readDevKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return Secret{}, fmt.Errorf("secrets: dev key: creating data directory: %w", err)
	}
	if err := createDevKey(dataDir, path); err != nil {
		return Secret{}, err
	}
	// Read back what is in place: ours, or the one another process linked
	// first.
	return readDevKey(path)
}

// readDevKey reads and vets an existing development key file. The checks
// are made on the opened file (fstat), so the file vetted is the file read.
func readDevKey(path string) (Secret, error) {
	// Lstat first: refuse symlinks, and never open a FIFO (which would block).
	fi, err := os.Lstat(path)
	if err != nil {
		return Secret{}, fmt.Errorf("secrets: dev key %s: %w", path, pathErrCause(err))
	}
	if !fi.Mode().IsRegular() {
		return Secret{}, fmt.Errorf("secrets: dev key %s is not a regular file; remove it to have a new key generated", path)
	}
	// #nosec G304 -- the dev key path is operator configuration or the default
	f, err := os.Open(path)
	if err != nil {
		return Secret{}, fmt.Errorf("secrets: dev key %s: %w", path, pathErrCause(err))
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return Secret{}, fmt.Errorf("secrets: dev key %s: %w", path, pathErrCause(err))
	}
	if !fi.Mode().IsRegular() {
		return Secret{}, fmt.Errorf("secrets: dev key %s is not a regular file; remove it to have a new key generated", path)
	}
	if err := checkPrivate(path, fi.Mode()); err != nil {
		return Secret{}, err
	}
	s, err := readOpen(f, path)
	if err != nil {
		return Secret{}, fmt.Errorf("secrets: dev key: %w", err)
	}
	if err := CheckStrength(s.raw()); err != nil {
		return Secret{}, fmt.Errorf("secrets: dev key %s: %w; remove the file to have a new key generated", path, err)
	}
	return s, nil
}

// checkPrivate refuses a key file that group or others may read or write.
// Windows reports synthetic permission bits, so the test is skipped there.
func checkPrivate(path string, mode fs.FileMode) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if mode.Perm()&0o077 != 0 {
		return fmt.Errorf("secrets: dev key %s has mode %04o: group or others may read it; run: chmod 600 %s", path, mode.Perm(), path)
	}
	return nil
}

// createDevKey writes a new key under a temporary name and links it to
// path. It returns nil when path exists afterwards, whoever made it.
func createDevKey(dir, path string) (err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("secrets: dev key: reading random bytes: %w", err)
	}
	text := make([]byte, hex.EncodedLen(len(raw))+1)
	hex.Encode(text, raw)
	text[len(text)-1] = '\n'
	defer clear(raw)
	defer clear(text)

	tmp, err := os.CreateTemp(dir, "."+DevKeyFile+".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("secrets: dev key: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		_ = tmp.Close()
		return fmt.Errorf("secrets: dev key: %w", err)
	}
	if _, err := tmp.Write(text); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("secrets: dev key: writing %s: %w", tmpName, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("secrets: dev key: writing %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("secrets: dev key: writing %s: %w", tmpName, err)
	}

	// link(2) creates path only if it does not exist: the O_EXCL of renames.
	err = os.Link(tmpName, path)
	switch {
	case err == nil:
		syncDir(dir)
		return nil
	case errors.Is(err, fs.ErrExist):
		return nil // another process won the race; use its key
	}
	// Some file systems have no hard links. Fall back to an exclusive
	// create: still only one winner, but a racing reader could see the file
	// before it is complete (and would refuse it as too short).
	// #nosec G304 -- the dev key path is operator configuration or the default
	f, ferr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(ferr, fs.ErrExist) {
		return nil
	}
	if ferr != nil {
		return fmt.Errorf("secrets: dev key: creating %s: %w (after link: %v)", path, ferr, err)
	}
	if _, err := f.Write(text); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("secrets: dev key: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("secrets: dev key: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("secrets: dev key: writing %s: %w", path, err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a new directory entry durable where the platform allows;
// failure only risks losing the key in a crash right after creation.
func syncDir(dir string) {
	// #nosec G304 -- the dev key's directory
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
