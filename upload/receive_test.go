package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

const boundary = "bOuNdArY-7d4f"

// part is one part of a test form: a text field, or a file when file is set.
type part struct {
	name     string
	file     bool
	filename string
	ctype    string
	body     string
	header   string // when set, the whole header block instead
}

var escaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func formBody(parts ...part) []byte {
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n")
		if p.header != "" {
			b.WriteString(p.header)
		} else {
			b.WriteString(`Content-Disposition: form-data; name="` + escaper.Replace(p.name) + `"`)
			if p.file {
				b.WriteString(`; filename="` + escaper.Replace(p.filename) + `"`)
			}
			b.WriteString("\r\n")
			if p.ctype != "" {
				b.WriteString("Content-Type: " + p.ctype + "\r\n")
			}
		}
		b.WriteString("\r\n" + p.body + "\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}

func formRequest(body []byte) *http.Request {
	r := httptest.NewRequest("POST", "/files", bytes.NewReader(body))
	r.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	return r
}

func filePart(filename, content string) part {
	return part{name: "file", file: true, filename: filename, ctype: "application/octet-stream", body: content}
}

func token() part { return part{name: "csrf_token", body: "tok-123"} }

// spyStorage counts writes and records what is left.
type spyStorage struct {
	Storage
	writes int
}

func (s *spyStorage) Write(ctx context.Context, r io.Reader) (Pending, error) {
	s.writes++
	return s.Storage.Write(ctx, r)
}

func newTestReceiver(t testing.TB, o Options) (*Receiver, *spyStorage) {
	t.Helper()
	d, err := NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	spy := &spyStorage{Storage: d}
	o.Storage = spy
	rc, err := NewReceiver(o)
	if err != nil {
		t.Fatal(err)
	}
	return rc, spy
}

// leftovers lists every object, pending or not, in s.
func leftovers(t *testing.T, s Storage) []string {
	t.Helper()
	var names []string
	if err := s.Walk(t.Context(), func(name string, pending bool, _ time.Time) error {
		names = append(names, fmt.Sprintf("%s(pending=%v)", name, pending))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return names
}

func TestReceivePNG(t *testing.T) {
	rc, spy := newTestReceiver(t, Options{})
	png := pngBytes(t)
	// The client says text/html: ignored.
	f, err := rc.Receive(t.Context(), formRequest(formBody(token(),
		part{name: "file", file: true, filename: "a.png", ctype: "text/html", body: string(png)},
		part{name: "submit", body: "Upload"})))
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "a.png" || f.ContentType != "image/png" || f.Size != int64(len(png)) || f.SHA256 != sha256.Sum256(png) {
		t.Errorf("got %q %q %d %x", f.Name, f.ContentType, f.Size, f.SHA256)
	}
	if f.Fields.Get("csrf_token") != "tok-123" || f.Fields.Get("submit") != "Upload" || len(f.Fields) != 2 {
		t.Errorf("Fields = %v", f.Fields)
	}
	if got := leftovers(t, spy); len(got) != 1 || !strings.Contains(got[0], "pending=true") {
		t.Fatalf("before Commit: %v", got)
	}
	const id = "5d1e2f3a-0b1c-4d2e-8f3a-4b5c6d7e8f90"
	if err := f.Pending.Commit(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	obj, err := spy.Open(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if b, _ := io.ReadAll(obj); !bytes.Equal(b, png) {
		t.Error("stored bytes differ")
	}
}

func TestReceiveTypes(t *testing.T) {
	for _, c := range []struct {
		filename, content, mime, name string
	}{
		{"photo.JPG", string(jpegBytes(t)), "image/jpeg", "photo.jpg"},
		{"anim.gif", string(gifBytes(t)), "image/gif", "anim.gif"},
		{"Report 2024.pdf", pdfBytes, "application/pdf", "Report_2024.pdf"},
		{"日本語.png", string(pngBytes(t)), "image/png", "file.png"},
	} {
		rc, _ := newTestReceiver(t, Options{})
		f, err := rc.Receive(t.Context(), formRequest(formBody(filePart(c.filename, c.content))))
		if err != nil {
			t.Errorf("%s: %v", c.filename, err)
			continue
		}
		if f.ContentType != c.mime || f.Name != c.name {
			t.Errorf("%s: stored as %q, %q; want %q, %q", c.filename, f.Name, f.ContentType, c.name, c.mime)
		}
		f.Pending.Abort(t.Context())
	}
}

// TestReceiveRefusedTypes: the disguised files are refused before
// anything is written.
func TestReceiveRefusedTypes(t *testing.T) {
	for _, c := range []struct{ filename, content string }{
		{"shell.php.png", phpText},
		{"a.png", htmlPage},
		{"a.png", svgImage},
		{"a.png", pdfBytes},
		{"a.svg", svgImage},
		{"a.html", htmlPage},
		{"a.pdf", ""},
	} {
		rc, spy := newTestReceiver(t, Options{})
		_, err := rc.Receive(t.Context(), formRequest(formBody(token(), filePart(c.filename, c.content))))
		var te *TypeError
		if !errors.As(err, &te) || Status(err) != http.StatusBadRequest || !strings.Contains(te.Message(), "png, jpg, jpeg, gif, pdf") {
			t.Errorf("%s: %v, want a 400 naming the allowed types", c.filename, err)
		}
		if spy.writes != 0 {
			t.Errorf("%s: written to storage before refusal", c.filename)
		}
	}
}

// TestReceiveHostileNames: each hostile name is either refused (no
// allowed extension) or stored under a safe name.
func TestReceiveHostileNames(t *testing.T) {
	png := string(pngBytes(t))
	long := strings.Repeat("a", 5000) + ".png"
	for _, c := range []struct{ filename, want string }{
		{"../../etc/passwd", ""},
		{`..\..\windows\win.ini`, ""},
		{"a/../../b.png", "a_.._.._b.png"},
		{"CON.png", "_CON.png"},
		{".htaccess", ""},
		{long, strings.Repeat("a", 96) + ".png"},
		{"x.png\x00.html", ""},
	} {
		rc, spy := newTestReceiver(t, Options{})
		f, err := rc.Receive(t.Context(), formRequest(formBody(filePart(c.filename, png))))
		if c.want == "" {
			if Status(err) != http.StatusBadRequest {
				t.Errorf("%q: %v, want 400", clip(c.filename, 40), err)
			}
			if got := leftovers(t, spy); len(got) != 0 {
				t.Errorf("%q: left %v", clip(c.filename, 40), got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", clip(c.filename, 40), err)
			continue
		}
		if f.Name != c.want {
			t.Errorf("%q: stored as %q, want %q", clip(c.filename, 40), f.Name, c.want)
		}
	}
}

// TestReceiveNULName: a NUL in the name, sent encoded (RFC 2231) so the
// header is valid, cannot hide the real extension.
func TestReceiveNULName(t *testing.T) {
	rc, _ := newTestReceiver(t, Options{})
	body := formBody(part{header: "Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''x.png%00.html\r\n", body: string(pngBytes(t))})
	if _, err := rc.Receive(t.Context(), formRequest(body)); !errors.Is(err, ErrType) {
		t.Errorf("x.png%%00.html: %v, want ErrType", err)
	}
}

func TestReceiveTooLarge(t *testing.T) {
	big := string(pngBytes(t)) + strings.Repeat("x", 100<<10)
	body := formBody(token(), filePart("a.png", big))

	// Content-Length over the cap: refused before reading.
	rc, spy := newTestReceiver(t, Options{MaxBytes: 64 << 10})
	_, err := rc.Receive(t.Context(), formRequest(body))
	if !errors.Is(err, ErrTooLarge) || Status(err) != http.StatusRequestEntityTooLarge || spy.writes != 0 {
		t.Errorf("by Content-Length: %v, %d writes", err, spy.writes)
	}

	// No Content-Length: stopped while streaming, the pending file removed.
	r := formRequest(body)
	r.ContentLength = -1
	_, err = rc.Receive(t.Context(), r)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("while reading: %v", err)
	}
	if got := leftovers(t, spy); len(got) != 0 {
		t.Errorf("left %v", got)
	}

	// An http.MaxBytesReader around the body stops it first.
	rc, spy = newTestReceiver(t, Options{})
	r = formRequest(body)
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 50<<10)
	r.ContentLength = -1
	_, err = rc.Receive(t.Context(), r)
	if !errors.Is(err, ErrTooLarge) || Status(err) != 413 {
		t.Errorf("MaxBytesReader: %v", err)
	}
	if got := leftovers(t, spy); len(got) != 0 {
		t.Errorf("left %v", got)
	}

	// Exactly at the cap is fine.
	rc, _ = newTestReceiver(t, Options{MaxBytes: int64(len(body))})
	r = formRequest(body)
	r.ContentLength = -1
	if _, err := rc.Receive(t.Context(), r); err != nil {
		t.Errorf("a body of exactly MaxBytes: %v", err)
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// countingReader counts what is read of a body.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestReceiveManyParts: 100 000 tiny parts are refused after the 16th,
// reading and allocating little.
func TestReceiveManyParts(t *testing.T) {
	parts := make([]part, 100_000)
	for i := range parts {
		parts[i] = part{name: "a", body: "x"}
	}
	body := formBody(parts...)
	rc, spy := newTestReceiver(t, Options{MaxBytes: int64(len(body))})
	r := formRequest(nil)
	cr := &countingReader{r: bytes.NewReader(body)}
	r.Body, r.ContentLength = io.NopCloser(cr), int64(len(body))
	var err error
	n := allocated(func() { _, err = rc.Receive(t.Context(), r) })
	if !errors.Is(err, ErrTooManyParts) || Status(err) != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d parts: %v", len(parts), err)
	}
	t.Logf("%d-byte body: read %d bytes, allocated %d", len(body), cr.n, n)
	if cr.n > 16<<10 {
		t.Errorf("read %d bytes of the body", cr.n)
	}
	if n > 256<<10 && !raceEnabled {
		t.Errorf("allocated %d bytes", n)
	}
	if spy.writes != 0 {
		t.Error("wrote to storage")
	}
}

// TestReceiveHeaderCaps: a part header over MaxHeaderBytes is refused, and
// a huge one is not read whole.
func TestReceiveHeaderCaps(t *testing.T) {
	rc, _ := newTestReceiver(t, Options{})
	long := strings.Repeat("a", 9<<10) + ".png"
	_, err := rc.Receive(t.Context(), formRequest(formBody(filePart(long, string(pngBytes(t))))))
	if !errors.Is(err, ErrMalformed) || Status(err) != 400 {
		t.Errorf("9 KiB file name: %v", err)
	}
	// A 10 MiB header line (the standard library's own cap).
	huge := formBody(part{header: "Content-Disposition: form-data; name=\"a\"\r\nX-Pad: " + strings.Repeat("p", 10<<20) + "\r\n", body: "x"})
	cr := &countingReader{r: bytes.NewReader(huge)}
	r := formRequest(nil)
	r.Body, r.ContentLength = io.NopCloser(cr), -1
	n := allocated(func() { _, err = rc.Receive(t.Context(), r) })
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("10 MiB header: %v", err)
	}
	if cr.n > 16<<10 || n > 256<<10 && !raceEnabled {
		t.Errorf("10 MiB header: read %d bytes, allocated %d", cr.n, n)
	}
	// Many header lines.
	many := formBody(part{header: "Content-Disposition: form-data; name=\"a\"\r\n" + strings.Repeat("X-A: b\r\n", 5000), body: "x"})
	if _, err := rc.Receive(t.Context(), formRequest(many)); !errors.Is(err, ErrMalformed) {
		t.Errorf("5000 header lines: %v", err)
	}
}

func TestReceiveFieldCaps(t *testing.T) {
	rc, _ := newTestReceiver(t, Options{})
	big := part{name: "csrf_token", body: strings.Repeat("t", 5<<10)}
	if _, err := rc.Receive(t.Context(), formRequest(formBody(big, filePart("a.png", string(pngBytes(t)))))); !errors.Is(err, ErrMalformed) {
		t.Errorf("5 KiB field: %v", err)
	}
	// Many fields, each small, over the total.
	var parts []part
	for range 10 {
		parts = append(parts, part{name: "f", body: strings.Repeat("v", 500)})
	}
	rc, _ = newTestReceiver(t, Options{MaxParts: 100})
	if _, err := rc.Receive(t.Context(), formRequest(formBody(parts...))); !errors.Is(err, ErrMalformed) {
		t.Errorf("fields over the total: %v", err)
	}
}

func TestReceiveNoFile(t *testing.T) {
	rc, _ := newTestReceiver(t, Options{})
	for name, body := range map[string][]byte{
		"no file part":   formBody(token()),
		"empty filename": formBody(token(), filePart("", "")),
		"text in file":   formBody(part{name: "file", body: "a.png"}),
		"no parts":       []byte("--" + boundary + "--\r\n"),
	} {
		if _, err := rc.Receive(t.Context(), formRequest(body)); !errors.Is(err, ErrNoFile) || Status(err) != 400 {
			t.Errorf("%s: %v, want ErrNoFile", name, err)
		}
	}
}

// TestReceiveLeavesNothing: errors after the file was written remove it.
func TestReceiveLeavesNothing(t *testing.T) {
	png := string(pngBytes(t))
	full := formBody(token(), filePart("a.png", png+strings.Repeat("z", 20_000)))
	for name, c := range map[string]struct {
		body []byte
		want error
	}{
		"second file":           {formBody(filePart("a.png", png), filePart("b.png", png)), ErrMalformed},
		"file in another field": {formBody(filePart("a.png", png), part{name: "other", file: true, filename: "b.png", body: png}), ErrMalformed},
		"too many parts after":  {formBody(filePart("a.png", png), part{name: "a"}, part{name: "a"}), ErrTooManyParts},
		"truncated in file":     {full[:len(full)/2], ErrMalformed},
		"no final boundary":     {full[:len(full)-len(boundary)-6], ErrMalformed},
		"bad part after":        {formBody(filePart("a.png", png), part{header: "Content-Type: text/plain\r\n"}), ErrMalformed},
	} {
		rc, spy := newTestReceiver(t, Options{MaxParts: 2})
		_, err := rc.Receive(t.Context(), formRequest(c.body))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
		if got := leftovers(t, spy); len(got) != 0 {
			t.Errorf("%s: left %v", name, got)
		}
	}
}

func TestReceiveNotMultipart(t *testing.T) {
	rc, _ := newTestReceiver(t, Options{})
	for _, ct := range []string{"", "application/x-www-form-urlencoded", "multipart/form-data", "multipart/mixed; boundary=x",
		"multipart/form-data; boundary=" + strings.Repeat("b", 71)} {
		r := httptest.NewRequest("POST", "/", strings.NewReader("a=b"))
		r.Header.Set("Content-Type", ct)
		if _, err := rc.Receive(t.Context(), r); !errors.Is(err, ErrMalformed) {
			t.Errorf("Content-Type %q: %v", ct, err)
		}
	}
}

// failStorage fails every write after reading it.
type failStorage struct{ Storage }

func (failStorage) Write(_ context.Context, r io.Reader) (Pending, error) {
	io.Copy(io.Discard, r)
	return nil, errors.New("disk full")
}

func TestReceiveStorageError(t *testing.T) {
	rc, err := NewReceiver(Options{Storage: failStorage{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rc.Receive(t.Context(), formRequest(formBody(filePart("a.png", string(pngBytes(t))))))
	if err == nil || Status(err) != http.StatusInternalServerError || !strings.HasPrefix(err.Error(), "upload: ") {
		t.Errorf("storage failure: %v (status %d)", err, Status(err))
	}
}

func TestReceiveCancelled(t *testing.T) {
	rc, spy := newTestReceiver(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := rc.Receive(ctx, formRequest(formBody(filePart("a.png", string(pngBytes(t))))))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if got := leftovers(t, spy); len(got) != 0 {
		t.Errorf("left %v", got)
	}
}

func TestNewReceiver(t *testing.T) {
	if _, err := NewReceiver(Options{}); err == nil {
		t.Error("no Storage accepted")
	}
	if _, err := NewReceiver(Options{Storage: failStorage{}, MaxParts: -1}); err == nil {
		t.Error("negative MaxParts accepted")
	}
}

func TestStatus(t *testing.T) {
	for err, want := range map[error]int{
		nil: 200, ErrTooLarge: 413, ErrTooManyParts: 413, ErrType: 400, ErrNoFile: 400, ErrMalformed: 400,
		ErrName: 400, ErrNotFound: 404, errors.New("x"): 500, &http.MaxBytesError{Limit: 1}: 413,
		fmt.Errorf("wrapped: %w", &TypeError{}): 400,
	} {
		if got := Status(err); got != want {
			t.Errorf("Status(%v) = %d, want %d", err, got, want)
		}
	}
}

// TestReceive16MiBAllocs: receiving a 16 MiB file to Disk allocates under
// 1 MiB (the benchmark's figure is in BENCHMARKS.md).
func TestReceive16MiBAllocs(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("allocation counts differ under the race detector")
	}
	png := string(pngBytes(t))
	body := formBody(token(), filePart("photo.png", png+strings.Repeat("\x00", 16<<20)))
	rc, _ := newTestReceiver(t, Options{MaxBytes: 17 << 20})
	var f *File
	var err error
	n := allocated(func() { f, err = rc.Receive(t.Context(), formRequest(body)) })
	if err != nil {
		t.Fatal(err)
	}
	f.Pending.Abort(t.Context())
	if f.Size < 16<<20 || n > 1<<20 {
		t.Errorf("received %d bytes allocating %d", f.Size, n)
	}
	t.Logf("received %d bytes allocating %d", f.Size, n)
}
