package upload

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	types, err := NewTypes(DefaultExtensions())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, content string
		mime, ext     string // "" mime: refused
	}{
		{"a.png", string(pngBytes(t)), "image/png", "png"},
		{"Photo.JPG", string(jpegBytes(t)), "image/jpeg", "jpg"},
		{"photo.jpeg", string(jpegBytes(t)), "image/jpeg", "jpeg"},
		{"anim.gif", string(gifBytes(t)), "image/gif", "gif"},
		{"doc.pdf", pdfBytes, "application/pdf", "pdf"},
		{"日本語.png", string(pngBytes(t)), "image/png", "png"},
		{"shell.php.png", phpText, "", ""},
		{"a.png", htmlPage, "", ""},
		{"a.png", svgImage, "", ""},
		{"a.png", pdfBytes, "", ""},
		{"a.gif", string(pngBytes(t)), "", ""},
		{"a.png.html", string(pngBytes(t)), "", ""},
		{"a.svg", svgImage, "", ""},
		{"png", string(pngBytes(t)), "", ""},
		{"a.png ", string(pngBytes(t)), "", ""},
		{"a.png\x00", string(pngBytes(t)), "", ""},
		{"a.pdf", "", "", ""},
		{"a.\u212Ang", string(pngBytes(t)), "", ""},
	} {
		mime, ext, err := types.Check(c.name, []byte(c.content))
		if c.mime == "" {
			var te *TypeError
			if !errors.As(err, &te) || !errors.Is(err, ErrType) || Status(err) != 400 {
				t.Errorf("Check(%q) = %q, %q, %v; want a *TypeError", c.name, mime, ext, err)
				continue
			}
			for _, m := range []string{err.Error(), te.Message()} {
				if !strings.Contains(m, "png, jpg, jpeg, gif, pdf") {
					t.Errorf("Check(%q): %q does not name the allowed types", c.name, m)
				}
			}
			if strings.Contains(te.Message(), c.name) && c.name != "png" {
				t.Errorf("Message echoes the client's name: %q", te.Message())
			}
			continue
		}
		if err != nil || mime != c.mime || ext != c.ext {
			t.Errorf("Check(%q) = %q, %q, %v; want %q, %q", c.name, mime, ext, err, c.mime, c.ext)
		}
	}
}

// TestCheckPolyglot documents the limit of sniffing: a PNG with PHP after
// its header passes. Serving decides the rest (see doc.go).
func TestCheckPolyglot(t *testing.T) {
	types, _ := NewTypes([]string{"png"})
	poly := append(pngBytes(t), phpText...)
	if mime, _, err := types.Check("shell.png", poly); err != nil || mime != "image/png" {
		t.Fatalf("Check(polyglot) = %q, %v", mime, err)
	}
}

func TestNewTypes(t *testing.T) {
	types, err := NewTypes([]string{" PNG", ".jpg", "png", "txt"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(types.Extensions(), ","); got != "png,jpg,txt" {
		t.Errorf("Extensions() = %s", got)
	}
	// text/plain is allowed for txt, but not its children in mimetype's tree.
	if _, _, err := types.Check("a.txt", []byte(htmlPage)); !errors.Is(err, ErrType) {
		t.Errorf("HTML as a.txt: %v", err)
	}
	if m, _, err := types.Check("a.txt", []byte("hello\n")); err != nil || !strings.HasPrefix(m, "text/plain") {
		t.Errorf("a.txt: %q %v", m, err)
	}
	for _, bad := range [][]string{nil, {}, {"png", ""}, {"html"}, {"svg"}, {"js"}, {"php"}, {"exe"}, {"foo"}, {"png", "HTM"}} {
		if _, err := NewTypes(bad); err == nil || !strings.HasPrefix(err.Error(), "upload: ") {
			t.Errorf("NewTypes(%q) = %v, want an error", bad, err)
		}
	}
	if _, err := NewTypes([]string{"svg"}); !strings.Contains(err.Error(), "never allowed") {
		t.Errorf("NewTypes(svg): %v", err)
	}
}
