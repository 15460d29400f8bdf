package upload

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestSecureFilenameVectors checks every value Werkzeug 2.2.2 produced
// (testdata/secure-filename.json, copied from the shared vectors).
func TestSecureFilenameVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/secure-filename.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct{ Input, Werkzeug string }
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) < 20 {
		t.Fatalf("only %d vectors", len(v.Cases))
	}
	for _, c := range v.Cases {
		if got := SecureFilename(c.Input); got != c.Werkzeug {
			t.Errorf("SecureFilename(%q) = %q, Werkzeug gives %q", c.Input, got, c.Werkzeug)
		}
	}
}

// TestSecureFilenameEdges covers what the vectors do not: Python's
// whitespace set (which includes \x1c-\x1f), NFKD turning other
// characters into ASCII (a fullwidth solidus into "/"), NUL between
// words. The expected values were produced by Werkzeug's secure_filename
// on Linux (same code as 2.2).
func TestSecureFilenameEdges(t *testing.T) {
	for in, want := range map[string]string{
		"\x1cA\x1fB.png":          "A_B.png",
		"a\x00 b.png":             "a_b.png",
		"\ufb01le.png":            "file.png",
		"\uff0fetc\uff0fpasswd":   "etc_passwd",
		"a\u00a0b.png":            "a_b.png",
		"..a..":                   "a",
		"-_-":                     "-_-",
		"\u216b.pdf":              "XII.pdf",
		"x\u0301y.gif":            "xy.gif",
		"a\u0085b.txt":            "ab.txt",
		"a\u2028b":                "ab",
		"a \x00 b":                "a__b",
		"CON.png":                 "CON.png",
		"  ":                      "",
		"\t\n":                    "",
		"a/b\\c":                  "a_bc",
		"\u2024\u2024\u2024.png":  "png",
		"\uff0e\uff0e\uff0fx.png": "x.png",
		"a\x7fb":                  "ab",
		"a\x01b":                  "ab",
		"\u00bd.png":              "12.png",
		"x\u3000y.png":            "x_y.png",
		"a\x0bb\x0cc":             "a_b_c",
		"a\xffb.png":              "ab.png", // invalid UTF-8: dropped like any non-ASCII
	} {
		if got := SecureFilename(in); got != want {
			t.Errorf("SecureFilename(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStoredNameAttacks stores the hostile names safely.
func TestStoredNameAttacks(t *testing.T) {
	long := strings.Repeat("a", 5000) + ".png"
	for _, c := range []struct{ in, ext, want string }{
		{"../../etc/passwd", "png", "etc_passwd.png"},
		{`..\..\windows\win.ini`, "png", "windowswin.ini.png"},
		{"a/../../b.png", "png", "a_.._.._b.png"},
		{"x.png\x00.html", "png", "x.png.html.png"},
		{"CON.png", "png", "_CON.png"},
		{"con.tar.gz", "gz", "_con.tar.gz"},
		{"lpt9", "pdf", "_lpt9.pdf"},
		{"COM10.png", "png", "COM10.png"},
		{".htaccess", "png", "htaccess.png"},
		{long, "png", strings.Repeat("a", 96) + ".png"},
		{"日本語.png", "png", "file.png"},
		{"", "png", "file.png"},
		{"..", "pdf", "file.pdf"},
		{"-rf .png", "png", "rf_.png"},
		{"--", "png", "file.png"},
		{"photo.JPG", "jpg", "photo.jpg"},
		{"photo.jpeg", "jpg", "photo.jpeg.jpg"},
		{"a.png", ".PNG", "a.png"},
		{"a.png", "", "a.png"},
		{"-", "", "file"},
		{"a.", "../x", "a.x"},
	} {
		got := StoredName(c.in, c.ext)
		if got != c.want {
			t.Errorf("StoredName(%q, %q) = %q, want %q", clip(c.in, 40), c.ext, got, c.want)
		}
		if err := checkStoredName(got, cleanExt(c.ext)); err != "" {
			t.Errorf("StoredName(%q, %q) = %q: %s", clip(c.in, 40), c.ext, got, err)
		}
	}
}

// checkStoredName returns what is wrong with a stored name, or "".
func checkStoredName(s, ext string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > MaxNameLen:
		return "too long"
	case s[0] == '.' || s[0] == '-':
		return "leading dot or dash"
	case isWindowsDevice(s):
		return "a Windows device name"
	case ext != "" && !strings.HasSuffix(s, "."+ext):
		return "does not end in ." + ext
	case strings.HasSuffix(s, "."):
		return "ends with a dot"
	}
	for i := 0; i < len(s); i++ {
		if !isFilenameChar(s[i]) {
			return "a character outside [A-Za-z0-9_.-]"
		}
	}
	return ""
}

func TestContentDisposition(t *testing.T) {
	for in, want := range map[string]string{
		"report.pdf":        `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`,
		"été 2024.jpg":      `attachment; filename="_t_ 2024.jpg"; filename*=UTF-8''%C3%A9t%C3%A9%202024.jpg`,
		`a"b\c%d;e.png`:     `attachment; filename="a_b_c_d;e.png"; filename*=UTF-8''a%22b%5Cc%25d%3Be.png`,
		"x\r\nSet-Cookie:a": `attachment; filename="x__Set-Cookie:a"; filename*=UTF-8''x%0D%0ASet-Cookie%3Aa`,
		"bad\xff.png":       `attachment; filename="bad_.png"; filename*=UTF-8''bad%EF%BF%BD.png`,
		"":                  `attachment`,
	} {
		if got := ContentDisposition(in); got != want {
			t.Errorf("ContentDisposition(%q) =\n %s\nwant\n %s", in, got, want)
		}
	}
}
