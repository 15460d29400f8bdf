package api

import (
	"net/http"
	"time"

	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/store"
)

// file is a file as the API shows it.
type file struct {
	ID          string    `json:"id"`
	Filename    string    `json:"filename"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
}

func fileJSON(f *store.File) file {
	return file{ID: f.ID, Filename: f.Name, Size: f.Size, ContentType: f.ContentType, SHA256: f.SHA256, CreatedAt: f.CreatedAt}
}

func (a *API) uploadFile(w http.ResponseWriter, r *http.Request) error {
	if a.files == nil {
		return web.NotFound("No such API endpoint.")
	}
	f, err := a.files.Upload(r.Context(), keyOf(r).UserID, r)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/files/"+f.ID)
	return writeJSON(w, http.StatusCreated, fileJSON(f))
}

func (a *API) listFiles(w http.ResponseWriter, r *http.Request) error {
	if a.files == nil {
		return web.NotFound("No such API endpoint.")
	}
	list, used, err := a.db.UserFiles(r.Context(), keyOf(r).UserID)
	if err != nil {
		return err
	}
	out := struct {
		Files []file `json:"files"`
		Used  int64  `json:"used_bytes"`
	}{Files: []file{}, Used: used}
	for i := range list {
		out.Files = append(out.Files, fileJSON(&list[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) downloadFile(w http.ResponseWriter, r *http.Request) error {
	if a.files == nil {
		return web.NotFound("No such API endpoint.")
	}
	return a.files.Serve(w, r, keyOf(r).UserID, r.PathValue("id"))
}

func (a *API) deleteFile(w http.ResponseWriter, r *http.Request) error {
	if a.files == nil {
		return web.NotFound("No such API endpoint.")
	}
	if err := a.files.Delete(r.Context(), keyOf(r).UserID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
