// Package files is the service's file feature, shared by the pages and the
// API: an upload is received as a stream into pending storage, its quota
// reserved with a pending row, its object committed, and only then its row
// marked ready; downloads are attachments that a browser will not run.
package files

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/upload"
)

// Service uploads, serves and deletes users' files.
type Service struct {
	DB       *store.DB
	Storage  upload.Storage
	Receiver *upload.Receiver
	Quota    int64 // bytes per user, pending uploads included
	MaxFiles int   // files per user
	Log      *slog.Logger
}

// Upload stores the file in r's multipart body for userID. Fields are the
// form's small text fields (the CSRF token came first, see package csrf).
// Nothing is left behind when it fails.
func (s *Service) Upload(ctx context.Context, userID int64, r *http.Request) (*store.File, error) {
	in, err := s.Receiver.Receive(ctx, r)
	if err != nil {
		return nil, uploadError(err)
	}
	abort := func() {
		if err := in.Pending.Abort(context.WithoutCancel(ctx)); err != nil {
			s.Log.ErrorContext(ctx, "abort pending upload", "error", err)
		}
	}
	f := &store.File{ID: newID(), UserID: userID, Name: in.Name, ContentType: in.ContentType,
		Size: in.Size, SHA256: hex.EncodeToString(in.SHA256[:])}
	switch err := s.DB.ReserveFile(ctx, f, s.Quota, s.MaxFiles); {
	case errors.Is(err, store.ErrQuota):
		abort()
		return nil, &web.Error{Status: http.StatusRequestEntityTooLarge, Err: err,
			Msg: fmt.Sprintf("This upload would go over your quota (%d MiB, %d files). Delete some files first.", s.Quota>>20, s.MaxFiles)}
	case err != nil:
		abort()
		return nil, err
	}
	// From here a crash leaves a pending row, which the sweep removes with
	// whatever object it may have.
	if err := in.Pending.Commit(ctx, f.ID); err != nil {
		abort()
		s.forget(ctx, f.ID)
		return nil, fmt.Errorf("commit upload: %w", err)
	}
	if err := s.DB.MarkFileReady(ctx, f.ID); err != nil {
		s.forget(ctx, f.ID)
		return nil, err
	}
	f.Ready = true
	return f, nil
}

// forget removes a file's row and object after a failure, best effort: the
// sweep catches what this misses.
func (s *Service) forget(ctx context.Context, id string) {
	ctx = context.WithoutCancel(ctx)
	if err := s.Storage.Delete(ctx, id); err != nil {
		s.Log.ErrorContext(ctx, "delete object", "error", err)
	}
	if err := s.DB.DeleteFile(ctx, id); err != nil {
		s.Log.ErrorContext(ctx, "delete file row", "error", err)
	}
}

// uploadError turns a receiver error into the answer.
func uploadError(err error) error {
	status := upload.Status(err)
	if status >= 500 {
		return err
	}
	msg := err.Error()
	switch status {
	case http.StatusRequestEntityTooLarge:
		msg = "The file is larger than this server accepts."
	case http.StatusBadRequest:
		if t, ok := errors.AsType[*upload.TypeError](err); ok {
			msg = t.Message()
		} else if errors.Is(err, upload.ErrNoFile) {
			msg = "Choose a file to upload."
		} else {
			msg = "The upload could not be read."
		}
	}
	return &web.Error{Status: status, Msg: msg, Err: err}
}

// Serve writes one of userID's files as a download: an attachment with the
// sniffed type, nosniff, a sandbox CSP and same-origin CORP, so that even a
// file a browser would run is only ever saved. Range and conditional
// requests are served by http.ServeContent.
func (s *Service) Serve(w http.ResponseWriter, r *http.Request, userID int64, id string) error {
	f, err := s.DB.UserFile(r.Context(), userID, id)
	if errors.Is(err, store.ErrNotFound) {
		return web.NotFound("There is no such file.")
	}
	if err != nil {
		return err
	}
	obj, err := s.Storage.Open(r.Context(), f.ID)
	if errors.Is(err, upload.ErrNotFound) {
		return web.NotFound("There is no such file.")
	}
	if err != nil {
		return fmt.Errorf("open object: %w", err)
	}
	defer obj.Close()
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Content-Disposition", upload.ContentDisposition(f.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "private, no-cache")
	h.Set("ETag", `"`+f.SHA256+`"`)
	http.ServeContent(w, r, "", f.CreatedAt, obj)
	return nil
}

// Delete removes one of userID's files: the row first (so the file is gone
// for the user at once), then the object.
func (s *Service) Delete(ctx context.Context, userID int64, id string) error {
	switch err := s.DB.DeleteUserFile(ctx, userID, id); {
	case errors.Is(err, store.ErrNotFound):
		return web.NotFound("There is no such file.")
	case err != nil:
		return err
	}
	if err := s.Storage.Delete(ctx, id); err != nil {
		return fmt.Errorf("delete object: %w", err) // the sweep removes it later
	}
	return nil
}

// sweepGrace is how old a pending row or object must be before the sweep
// takes it for the leftover of a crash rather than an upload in progress.
const sweepGrace = time.Hour

// Sweep makes storage and rows agree after crashes: it removes objects with
// no row, pending objects and pending rows older than the grace period.
func (s *Service) Sweep(ctx context.Context, now time.Time) error {
	rows, err := s.DB.FileStates(ctx)
	if err != nil {
		return err
	}
	old := func(t time.Time) bool { return now.Sub(t) > sweepGrace }
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	err = s.Storage.Walk(ctx, func(name string, pending bool, modTime time.Time) error {
		_, known := rows[name]
		switch {
		case pending && old(modTime):
			keep(s.Storage.Delete(ctx, name))
		case !pending && !known && old(modTime):
			keep(s.Storage.Delete(ctx, name))
		}
		return nil
	})
	keep(err)
	for id, f := range rows {
		if !f.Ready && old(f.CreatedAt) {
			keep(s.Storage.Delete(ctx, id))
			keep(s.DB.DeleteFile(ctx, id))
		}
	}
	return firstErr
}

// newID returns a random version-4 UUID.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
