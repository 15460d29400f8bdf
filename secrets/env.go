package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// maxFileSize bounds how much FromFile reads: secrets are short, and a
// mistaken path must not exhaust memory at start-up.
const maxFileSize = 64 << 10

// FromEnv reads the secret called name from the environment through getenv
// (os.Getenv in production, a map lookup in tests).
//
// The value comes either from the variable itself (NAME) or, when NAME_FILE
// is set, from the file it names, the way Docker and Kubernetes secrets are
// mounted; see FromFile. Setting both is an error, because one of them
// would be ignored silently. ok is false when neither is set.
//
// Errors name the variable and, for NAME_FILE, the path; never the content.
func FromEnv(getenv func(string) string, name string) (s Secret, ok bool, err error) {
	value := getenv(name)
	path := getenv(name + "_FILE")
	switch {
	case value != "" && path != "":
		return Secret{}, false, fmt.Errorf("secrets: %s and %s_FILE are both set; set only one", name, name)
	case value != "":
		return New([]byte(value)), true, nil
	case path != "":
		s, err := readFile(path)
		if err != nil {
			return Secret{}, false, fmt.Errorf("secrets: %s_FILE: %w", name, err)
		}
		return s, true, nil
	}
	return Secret{}, false, nil
}

// FromFile reads a secret from the file at path. Trailing newlines ("\n" or
// "\r\n") are removed, because editors and `echo` add them; every other byte
// is key material as given. An empty file, a file larger than 64 KiB and a
// path that is not a readable regular file (a directory, a device such as
// /dev/zero, a FIFO that would block start-up) are errors; the error names
// the path, never the content.
func FromFile(path string) (Secret, error) {
	s, err := readFile(path)
	if err != nil {
		return Secret{}, fmt.Errorf("secrets: %w", err)
	}
	return s, nil
}

// readFile is FromFile without the package prefix on errors.
func readFile(path string) (Secret, error) {
	fi, err := os.Stat(path) // follows symlinks, as Kubernetes secret mounts need
	if err != nil {
		return Secret{}, fmt.Errorf("cannot read %q: %w", path, pathErrCause(err))
	}
	if !fi.Mode().IsRegular() {
		return Secret{}, fmt.Errorf("%q is not a regular file", path)
	}
	// #nosec G304 -- a *_FILE path from the environment: operator configuration
	f, err := os.Open(path)
	if err != nil {
		return Secret{}, fmt.Errorf("cannot read %q: %w", path, pathErrCause(err))
	}
	defer f.Close()
	return readOpen(f, path)
}

// readOpen reads a secret from an open file; path is for errors only.
func readOpen(f *os.File, path string) (Secret, error) {
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return Secret{}, fmt.Errorf("cannot read %q: %w", path, pathErrCause(err))
	}
	if len(b) > maxFileSize {
		clear(b)
		return Secret{}, fmt.Errorf("%q is larger than %d KiB; is it the right file?", path, maxFileSize>>10)
	}
	s := New(trimNewlines(b))
	clear(b)
	if s.IsZero() {
		return Secret{}, fmt.Errorf("%q is empty", path)
	}
	return s, nil
}

// trimNewlines removes trailing '\n' and '\r' bytes.
func trimNewlines(b []byte) []byte {
	return bytes.TrimRight(b, "\r\n")
}

// pathErrCause strips the *fs.PathError wrapper (whose message repeats the
// path we already print) and keeps its cause, so errors.Is(err,
// fs.ErrNotExist) still works.
func pathErrCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
