package upload

import (
	"context"
	"errors"
	"io"
	"time"
)

// The errors of this package. Each one is wrapped with detail; test with
// errors.Is, and use [Status] for the HTTP status.
var (
	// ErrNotFound means no committed object has that name.
	ErrNotFound = errors.New("upload: no such object")
	// ErrName means an object name is not one a Storage accepts (a UUID,
	// or a pending name from Walk where Delete takes one). Names are never paths.
	ErrName = errors.New("upload: invalid object name")
	// ErrType means the file's extension or content is not allowed; the
	// error is a *[TypeError] naming the allowed types.
	ErrType = errors.New("upload: file type not allowed")
	// ErrTooLarge means the request body is over Options.MaxBytes (or the
	// cap of an http.MaxBytesReader around it).
	ErrTooLarge = errors.New("upload: request body too large")
	// ErrTooManyParts means the multipart body has more than Options.MaxParts parts.
	ErrTooManyParts = errors.New("upload: too many parts in the form")
	// ErrNoFile means the form has no file in the file field (or an empty file name).
	ErrNoFile = errors.New("upload: no file in the form")
	// ErrMalformed means the body is not a multipart form this package
	// accepts: not multipart/form-data, a broken part, a part header over
	// Options.MaxHeaderBytes, text fields over Options.MaxFieldBytes, or an
	// unexpected second file.
	ErrMalformed = errors.New("upload: malformed form")
)

// Storage keeps uploaded objects. An upload is first written as a pending
// object, invisible to readers, and committed under its final name once
// the caller has recorded it (for the service: with the database row), so
// a crash leaves at most a pending object or an unreferenced one, which
// the caller's sweep finds with Walk.
//
// Names are UUIDs the caller chooses; an implementation refuses any other
// name with [ErrName] rather than interpret it (never as a path or a key
// prefix). [Disk] keeps objects in a local directory; the s3store
// subpackage keeps them in an S3 bucket.
type Storage interface {
	// Write stores r as a pending object, invisible to Open until Commit.
	// When it fails nothing is left behind.
	Write(ctx context.Context, r io.Reader) (Pending, error)
	// Open returns a committed object (ErrNotFound if none).
	Open(ctx context.Context, name string) (Object, error)
	// Delete removes a committed object; a missing one is not an error.
	// It also takes the name of a pending object as Walk reported it, so a
	// sweep can remove what a crash left.
	Delete(ctx context.Context, name string) error
	// Walk calls fn for every committed object and for every pending one
	// (pending=true), for the orphan sweep; modTime is when it was written.
	// An error from fn stops the walk and is returned.
	Walk(ctx context.Context, fn func(name string, pending bool, modTime time.Time) error) error
}

// Pending is an object written but not yet visible.
type Pending interface {
	// Commit makes the object visible under name (a UUID the caller chose); durable when it returns.
	Commit(ctx context.Context, name string) error
	// Abort removes the pending object; safe after Commit (then a no-op).
	Abort(ctx context.Context) error
}

// Object is a committed object opened for reading; it can be given to
// http.ServeContent.
type Object interface {
	io.ReadSeekCloser
	// Size is the object's length in bytes.
	Size() int64
	// ModTime is when the object was written.
	ModTime() time.Time
}

// ValidName reports whether name is an object name a Storage accepts: a
// UUID in its canonical lowercase text form (8-4-4-4-12 hex digits). Any
// UUID version is accepted; nothing else is, so a name is never a path.
func ValidName(name string) bool {
	if len(name) != 36 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isLowerHex(c) {
				return false
			}
		}
	}
	return true
}

func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }
