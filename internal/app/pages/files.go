package pages

import (
	"net/http"

	"github.com/bulwarkhq/bulwark/internal/app/web"
)

// uploadFile stores a file from the account page's form. The CSRF token
// is the form's first field, so the check has read only that much of the
// body, and the file is streamed to storage from here.
func (p *Pages) uploadFile(w http.ResponseWriter, r *http.Request) error {
	if p.files == nil {
		return web.NotFound("There is no page at this address.")
	}
	f, err := p.files.Upload(r.Context(), currentUser(r).ID, r)
	if err != nil {
		e := web.AsError(err)
		if e.Status >= 500 {
			return err
		}
		return p.showAccountWith(w, r, e.Status, accountData{Error: e.Msg})
	}
	p.flashes.Put(r.Context(), []byte("Uploaded "+f.Name+"."))
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

func (p *Pages) downloadFile(w http.ResponseWriter, r *http.Request) error {
	if p.files == nil {
		return web.NotFound("There is no page at this address.")
	}
	return p.files.Serve(w, r, currentUser(r).ID, r.PathValue("id"))
}

func (p *Pages) deleteFile(w http.ResponseWriter, r *http.Request) error {
	if p.files == nil {
		return web.NotFound("There is no page at this address.")
	}
	if err := p.files.Delete(r.Context(), currentUser(r).ID, r.PathValue("id")); err != nil {
		return err
	}
	p.flashes.Put(r.Context(), []byte("The file has been deleted."))
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}
