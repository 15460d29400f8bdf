package upload

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
)

// Defaults of [Options].
const (
	DefaultMaxBytes       = 16 << 20 // Flask's MAX_CONTENT_LENGTH as the service sets it
	DefaultMaxParts       = 16
	DefaultMaxHeaderBytes = 8 << 10
	DefaultMaxFieldBytes  = 4 << 10
	DefaultField          = "file"
)

// peekBuffer is mime/multipart's read-ahead: while a part's header is read
// at most this much more than the header comes off the body.
const peekBuffer = 4096

// Options configure a [Receiver]. Zero values take the defaults.
type Options struct {
	// MaxBytes caps the whole request body, file and form together
	// (MAX_CONTENT_LENGTH). Past it: ErrTooLarge (413). Default 16 MiB.
	MaxBytes int64
	// MaxParts caps the parts of the form, the file and every text field
	// together. Past it: ErrTooManyParts (413). Default 16.
	MaxParts int
	// MaxHeaderBytes caps each part's header block (its Content-Disposition
	// and Content-Type lines). Past it: ErrMalformed. Default 8 KiB.
	MaxHeaderBytes int
	// MaxFieldBytes caps the text fields kept in File.Fields, names and
	// values of all of them together. Past it: ErrMalformed. Default 4 KiB.
	MaxFieldBytes int
	// Field is the form field of the file. Default "file".
	Field string
	// Types is the allowlist. Default: NewTypes(DefaultExtensions()).
	Types *Types
	// Storage receives the file. Required.
	Storage Storage
}

// Receiver reads file uploads from multipart requests as streams. It is
// safe for concurrent use.
type Receiver struct {
	maxBytes  int64
	maxParts  int
	maxHeader int
	maxFields int
	field     string
	types     *Types
	storage   Storage
}

// NewReceiver returns a Receiver for o.
func NewReceiver(o Options) (*Receiver, error) {
	if o.Storage == nil {
		return nil, errors.New("upload: Options.Storage is required")
	}
	if o.MaxBytes < 0 || o.MaxParts < 0 || o.MaxHeaderBytes < 0 || o.MaxFieldBytes < 0 {
		return nil, errors.New("upload: negative limit in Options")
	}
	rc := &Receiver{
		maxBytes: cmpOr(o.MaxBytes, DefaultMaxBytes), maxParts: cmpOr(o.MaxParts, DefaultMaxParts),
		maxHeader: cmpOr(o.MaxHeaderBytes, DefaultMaxHeaderBytes), maxFields: cmpOr(o.MaxFieldBytes, DefaultMaxFieldBytes),
		field: cmpOr(o.Field, DefaultField), types: o.Types, storage: o.Storage,
	}
	if rc.types == nil {
		t, err := NewTypes(DefaultExtensions())
		if err != nil {
			return nil, err
		}
		rc.types = t
	}
	return rc, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// File is a received upload, written to storage but pending: the caller
// records it and then calls Pending.Commit with its id, or Pending.Abort.
type File struct {
	Pending     Pending    // the object, invisible until committed
	Name        string     // StoredName of the client's file name: safe to store and show
	ContentType string     // the sniffed MIME type, never the client's
	Size        int64      // bytes
	SHA256      [32]byte   // of the content, computed while it was written
	Fields      url.Values // the form's text fields (e.g. csrf_token), in order of arrival
}

// Receive reads r's multipart/form-data body part by part (never the
// whole form into memory or temporary files), keeps the small text fields
// in File.Fields, checks the file part's name and first bytes against
// Types before anything is stored, and streams the rest to Storage.Write
// while hashing and counting it. It returns the pending upload.
//
// The form may have one file, in Options.Field, anywhere among its text
// fields; a second file, or a file in another field, is refused. A CSRF
// check that must happen before the file is stored needs its token in a
// header or in a field before the file part (package csrf reads the first
// part for it).
//
// Errors: ErrTooLarge (the body is over MaxBytes, by Content-Length or
// while reading, or over an http.MaxBytesReader's cap), ErrTooManyParts,
// a *TypeError (ErrType), ErrNoFile, ErrMalformed, the context's error,
// and storage errors (anything [Status] maps to 500). On any error nothing
// pending is left behind.
func (rc *Receiver) Receive(ctx context.Context, r *http.Request) (*File, error) {
	if r.ContentLength > rc.maxBytes {
		return nil, rc.tooLarge()
	}
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/form-data" {
		return nil, fmt.Errorf("%w: want Content-Type multipart/form-data", ErrMalformed)
	}
	boundary := params["boundary"]
	if boundary == "" || len(boundary) > 70 {
		return nil, fmt.Errorf("%w: the multipart boundary must be 1 to 70 characters", ErrMalformed)
	}
	src := io.Reader(r.Body)
	if r.Body == nil {
		src = http.NoBody
	}
	body := &bodyReader{ctx: ctx, r: src, left: rc.maxBytes, budget: -1}
	mr := multipart.NewReader(body, boundary)
	var (
		file       *File
		fields     = url.Values{}
		fieldBytes int
	)
	fail := func(err error) (*File, error) {
		if file != nil {
			_ = file.Pending.Abort(context.WithoutCancel(ctx)) // the first error is the one to report
		}
		return nil, err
	}
	for parts := 0; ; parts++ {
		body.budget = rc.maxHeader + peekBuffer + len(boundary) + 16
		part, err := mr.NextPart()
		body.budget = -1
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(rc.readError(body, err))
		}
		if parts == rc.maxParts {
			return fail(fmt.Errorf("%w: more than %d", ErrTooManyParts, rc.maxParts))
		}
		if headerSize(part.Header) > rc.maxHeader {
			return fail(rc.headerError())
		}
		disp, dp, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		name := dp["name"]
		if err != nil || disp != "form-data" || name == "" {
			return fail(fmt.Errorf("%w: a part without a form-data Content-Disposition and name", ErrMalformed))
		}
		filename, isFile := dp["filename"]
		switch {
		case name == rc.field && file != nil:
			return fail(fmt.Errorf("%w: more than one file", ErrMalformed))
		case name == rc.field && filename == "":
			return fail(ErrNoFile)
		case name == rc.field:
			if file, err = rc.receiveFile(ctx, body, part, filename); err != nil {
				return nil, err // receiveFile leaves nothing pending
			}
		case isFile:
			return fail(fmt.Errorf("%w: a file in field %q; only %q takes one", ErrMalformed, clip(name, 64), rc.field))
		default:
			limit := rc.maxFields - fieldBytes - len(name)
			if limit < 0 {
				return fail(rc.fieldsError())
			}
			v, err := io.ReadAll(io.LimitReader(part, int64(limit)+1))
			if err != nil {
				return fail(rc.readError(body, err))
			}
			if len(v) > limit {
				return fail(rc.fieldsError())
			}
			fieldBytes += len(name) + len(v)
			fields.Add(name, string(v))
		}
	}
	if file == nil {
		return nil, ErrNoFile
	}
	file.Fields = fields
	return file, nil
}

// receiveFile sniffs, checks and stores the file part.
func (rc *Receiver) receiveFile(ctx context.Context, body *bodyReader, part *multipart.Part, filename string) (*File, error) {
	head := make([]byte, SniffLen)
	n, err := io.ReadFull(part, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, rc.readError(body, err)
	}
	head = head[:n]
	mime, ext, err := rc.types.Check(filename, head)
	if err != nil {
		return nil, err
	}
	fr := &fileReader{head: head, part: part, h: sha256.New()}
	p, err := rc.storage.Write(ctx, fr)
	if err != nil {
		if fr.err != nil { // the body failed, not the storage
			return nil, rc.readError(body, fr.err)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("upload: %w", ctx.Err())
		}
		return nil, fmt.Errorf("upload: store: %w", err)
	}
	if !fr.eof {
		_ = p.Abort(context.WithoutCancel(ctx)) // the read error is the one to report
		if fr.err != nil {
			return nil, rc.readError(body, fr.err)
		}
		return nil, errors.New("upload: store: Write returned before the end of the file")
	}
	f := &File{Pending: p, Name: StoredName(filename, ext), ContentType: mime, Size: fr.n}
	fr.h.Sum(f.SHA256[:0])
	return f, nil
}

// readError explains a failure to read the body: over a cap, cancelled,
// or a malformed or cut-off body.
func (rc *Receiver) readError(body *bodyReader, err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok || body.tooLarge {
		return rc.tooLarge()
	}
	if body.headerOver {
		return rc.headerError()
	}
	if cerr := body.ctx.Err(); cerr != nil {
		return fmt.Errorf("upload: %w", cerr)
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}

func (rc *Receiver) tooLarge() error {
	return fmt.Errorf("%w: over %d bytes", ErrTooLarge, rc.maxBytes)
}

func (rc *Receiver) headerError() error {
	return fmt.Errorf("%w: a part's header is over %d bytes", ErrMalformed, rc.maxHeader)
}

func (rc *Receiver) fieldsError() error {
	return fmt.Errorf("%w: the text fields are over %d bytes", ErrMalformed, rc.maxFields)
}

// headerSize is the size of a part's header as sent, give or take
// whitespace: each value on its own "Key: value\r\n" line.
func headerSize(h map[string][]string) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// bodyReader is the request body as the multipart reader sees it: capped
// at MaxBytes in all, at budget bytes while a part header is read
// (budget < 0: no header being read), and stopped by the context.
type bodyReader struct {
	ctx        context.Context
	r          io.Reader
	left       int64 // body bytes still allowed
	budget     int
	tooLarge   bool
	headerOver bool
}

var (
	errBodyTooLarge   = errors.New("upload: body over the limit")
	errHeaderTooLarge = errors.New("upload: part header over the limit")
)

func (b *bodyReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	if b.budget >= 0 {
		if b.budget == 0 {
			b.headerOver = true
			return 0, errHeaderTooLarge
		}
		p = p[:min(len(p), b.budget)]
	}
	if int64(len(p)) > b.left {
		p = p[:b.left+1] // one byte more tells a body longer than the cap
	}
	n, err := b.r.Read(p)
	if int64(n) > b.left {
		n, b.left, b.tooLarge = int(b.left), 0, true
		return n, errBodyTooLarge
	}
	b.left -= int64(n)
	if b.budget >= 0 {
		b.budget -= n
	}
	return n, err
}

// fileReader is what Storage.Write reads: the sniffed head, then the rest
// of the part, hashed and counted on the way.
type fileReader struct {
	head []byte
	part io.Reader
	h    hash.Hash
	n    int64
	eof  bool
	err  error // the part's read error, other than io.EOF
}

func (f *fileReader) Read(p []byte) (int, error) {
	if len(f.head) > 0 {
		n := copy(p, f.head)
		f.h.Write(p[:n])
		f.head = f.head[n:]
		f.n += int64(n)
		return n, nil
	}
	if f.eof {
		return 0, io.EOF
	}
	n, err := f.part.Read(p)
	f.h.Write(p[:n])
	f.n += int64(n)
	switch {
	case err == io.EOF:
		f.eof = true
	case err != nil:
		f.err = err
	}
	return n, err
}

// Status returns the HTTP status for an error of Receive, Check or a
// Storage: 400 for a refused or malformed upload, 413 when it is too large
// or has too many parts (as Werkzeug answers), 404 for ErrNotFound, 500
// for anything else (storage failures). nil gives 200.
func Status(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrTooManyParts):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrType), errors.Is(err, ErrNoFile), errors.Is(err, ErrMalformed), errors.Is(err, ErrName):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}
