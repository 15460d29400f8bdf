package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzStoredName checks the stored name's rules on any input, and that
// SecureFilename's result is in Werkzeug's alphabet and stable.
func FuzzStoredName(f *testing.F) {
	for _, s := range []string{
		"../../etc/passwd", `..\..\windows\win.ini`, "a/../../b.png", "x.png\x00.html", "CON.png",
		".htaccess", strings.Repeat("a", 5000) + ".png", "日本語.png", "", ".", "-", "_", "--help.png",
		"nul", "LPT1.tar.gz", "\uff0e\uff0e\uff0fx", "a\u0301.PNG", "\xff\xfe", " . ", "com9.", "aux_.png",
		strings.Repeat("-", 200) + "CON.png", strings.Repeat("\u00e9", 300),
	} {
		for _, ext := range []string{"png", "jpg", "", "PDF", "../x", "tar.gz", strings.Repeat("x", 40)} {
			f.Add(s, ext)
		}
	}
	f.Fuzz(func(t *testing.T, name, ext string) {
		s := SecureFilename(name)
		for i := 0; i < len(s); i++ {
			if !isFilenameChar(s[i]) {
				t.Fatalf("SecureFilename(%q) = %q: byte %q", name, s, s[i])
			}
		}
		if strings.Trim(s, "._") != s || SecureFilename(s) != s {
			t.Fatalf("SecureFilename(%q) = %q: not trimmed or not stable", name, s)
		}
		got := StoredName(name, ext)
		if msg := checkStoredName(got, cleanExt(ext)); msg != "" {
			t.Fatalf("StoredName(%q, %q) = %q: %s", name, ext, got, msg)
		}
	})
}

// FuzzCheck: no panic, and an accepted file has an allowed extension and
// a type listed for it.
func FuzzCheck(f *testing.F) {
	types, err := NewTypes([]string{"png", "jpg", "jpeg", "gif", "pdf", "txt", "csv", "zip"})
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range [][2]string{
		{"a.png", string(pngBytes(f))}, {"a.jpg", string(jpegBytes(f))}, {"a.gif", string(gifBytes(f))},
		{"a.pdf", pdfBytes}, {"a.png", htmlPage}, {"a.txt", htmlPage}, {"a.txt", svgImage}, {"a.csv", "a,b\n1,2\n"},
		{"a.zip", "PK\x03\x04"}, {"shell.php.png", phpText}, {"", ""}, {".", "\x00"},
	} {
		f.Add(c[0], []byte(c[1]))
	}
	f.Fuzz(func(t *testing.T, filename string, head []byte) {
		m, ext, err := types.Check(filename, head)
		if err != nil {
			if !errors.Is(err, ErrType) {
				t.Fatalf("Check: %v", err)
			}
			return
		}
		if !strings.HasSuffix(strings.ToLower(filename), "."+ext) {
			t.Fatalf("Check(%q) accepted extension %q", filename, ext)
		}
		ok := false
		for _, a := range knownTypes(ext) {
			ok = ok || strings.HasPrefix(m, a)
		}
		if !ok || strings.Contains(m, "html") || strings.Contains(m, "svg") {
			t.Fatalf("Check(%q) accepted %s as %s", filename, m, ext)
		}
	})
}

// FuzzContentDisposition: the value is one ASCII line that parses, and
// filename* gives the name back.
func FuzzContentDisposition(f *testing.F) {
	for _, s := range []string{"a.png", "été 2024.jpg", `a"b\c%d;e`, "x\r\nSet-Cookie: a=b", "\xff", "日本語.pdf", "'", "*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		v := ContentDisposition(name)
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] > 0x7e {
				t.Fatalf("ContentDisposition(%q) = %q: byte %q", name, v, v[i])
			}
		}
		if name == "" {
			return
		}
		disp, params, err := mime.ParseMediaType(v)
		if err != nil || disp != "attachment" {
			t.Fatalf("ContentDisposition(%q) = %q: %v", name, v, err)
		}
		if want := strings.ToValidUTF8(name, "\uFFFD"); params["filename"] != want {
			t.Fatalf("ContentDisposition(%q) = %q: filename* reads %q", name, v, params["filename"])
		}
	})
}

// memStorage is a Storage in memory, for fuzzing.
type memStorage struct {
	mu      sync.Mutex
	pending map[*memPending]bool
	objects map[string][]byte
}

type memPending struct {
	s    *memStorage
	data []byte
}

func newMemStorage() *memStorage {
	return &memStorage{pending: map[*memPending]bool{}, objects: map[string][]byte{}}
}

func (s *memStorage) Write(ctx context.Context, r io.Reader) (Pending, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	p := &memPending{s, b}
	s.mu.Lock()
	s.pending[p] = true
	s.mu.Unlock()
	return p, nil
}

func (p *memPending) Commit(_ context.Context, name string) error {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	delete(p.s.pending, p)
	p.s.objects[name] = p.data
	return nil
}

func (p *memPending) Abort(context.Context) error {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	delete(p.s.pending, p)
	return nil
}

func (s *memStorage) Open(context.Context, string) (Object, error) { return nil, ErrNotFound }
func (s *memStorage) Delete(context.Context, string) error         { return nil }
func (s *memStorage) Walk(context.Context, func(string, bool, time.Time) error) error {
	return nil
}

// FuzzReceive feeds any body to Receive: no panic, every refusal is a
// client error (400/413) with nothing left pending, and an accepted
// upload is consistent.
func FuzzReceive(f *testing.F) {
	png := string(pngBytes(f))
	for _, b := range [][]byte{
		formBody(token(), filePart("a.png", png)),
		formBody(filePart("../../x.png", png), part{name: "after", body: "v"}),
		formBody(filePart("a.png", htmlPage)),
		formBody(filePart("a.pdf", pdfBytes), filePart("b.pdf", pdfBytes)),
		formBody(part{header: "Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''%E6%97%A5.gif\r\n", body: string(gifBytes(f))}),
		formBody(part{header: "Content-Disposition: form-data; name=\"file\"; filename=\"q.jpg\"\r\nContent-Transfer-Encoding: quoted-printable\r\n", body: "=FF=D8=FF=E0"}),
		formBody(part{name: "a"}, part{name: "b"}, part{name: "c"}),
		[]byte("preamble\r\n--" + boundary + "\r\n\r\n--" + boundary + "--"),
		[]byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n" + png),
		{},
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newMemStorage()
		rc, err := NewReceiver(Options{MaxBytes: 64 << 10, MaxParts: 4, MaxHeaderBytes: 512, MaxFieldBytes: 256, Storage: s})
		if err != nil {
			t.Fatal(err)
		}
		file, err := rc.Receive(context.Background(), formRequest(body))
		if err != nil {
			if st := Status(err); st != http.StatusBadRequest && st != http.StatusRequestEntityTooLarge {
				t.Fatalf("Receive: %v (status %d)", err, st)
			}
			if !strings.HasPrefix(err.Error(), "upload: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			if len(s.pending) != 0 {
				t.Fatalf("Receive failed with %v and left %d pending", err, len(s.pending))
			}
			return
		}
		if len(s.pending) != 1 {
			t.Fatalf("accepted with %d pending objects", len(s.pending))
		}
		var data []byte
		for p := range s.pending {
			data = p.data
		}
		if file.Size != int64(len(data)) || file.SHA256 != sha256.Sum256(data) {
			t.Fatalf("Size %d, SHA256 %x for %d bytes", file.Size, file.SHA256, len(data))
		}
		if !bytes.Contains(body, data[:min(len(data), 16)]) && !bytes.Contains(bytes.ToLower(body), []byte("quoted-printable")) {
			t.Fatalf("stored bytes not from the body")
		}
		ext := file.Name[strings.LastIndexByte(file.Name, '.')+1:]
		if msg := checkStoredName(file.Name, ext); msg != "" || knownTypes(ext) == nil {
			t.Fatalf("stored name %q: %s", file.Name, msg)
		}
		n := 0
		for k, vs := range file.Fields {
			for _, v := range vs {
				n += len(k) + len(v)
			}
		}
		if n > 256 || !utf8.ValidString(file.Name) {
			t.Fatalf("fields of %d bytes", n)
		}
	})
}
