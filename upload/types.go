package upload

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// SniffLen is how many leading bytes of a file [Types.Check] needs to see:
// the most mimetype reads by default.
const SniffLen = 4096

// knownTypes maps each extension this package can allow to the sniffed
// MIME types its content may have. The lists are exact: a type's children
// in mimetype's tree are not included, because text/plain's children are
// HTML, SVG, PHP and JavaScript, and zip's are JAR and office documents.
func knownTypes(ext string) []string {
	switch ext {
	case "png":
		return []string{"image/png", "image/apng"}
	case "jpg", "jpeg", "jpe":
		return []string{"image/jpeg"}
	case "gif":
		return []string{"image/gif"}
	case "webp":
		return []string{"image/webp"}
	case "avif":
		return []string{"image/avif"}
	case "bmp":
		return []string{"image/bmp"}
	case "tif", "tiff":
		return []string{"image/tiff"}
	case "pdf":
		return []string{"application/pdf"}
	case "txt":
		return []string{"text/plain"}
	case "csv":
		return []string{"text/csv", "text/plain"}
	case "zip":
		return []string{"application/zip"}
	case "mp3":
		return []string{"audio/mpeg"}
	case "wav":
		return []string{"audio/wav"}
	case "ogg":
		return []string{"audio/ogg", "video/ogg", "application/ogg"}
	case "mp4":
		return []string{"video/mp4"}
	case "webm":
		return []string{"video/webm"}
	}
	return nil
}

// riskyExtension reports extensions that are never allowed: pages and
// images a browser runs script in, scripts a server or desktop runs, and
// server configuration files.
func riskyExtension(ext string) bool {
	switch ext {
	case "html", "htm", "xhtml", "xht", "shtml", "mht", "mhtml", "svg", "svgz", "xml", "xsl", "xslt",
		"js", "mjs", "cjs", "css", "swf", "hta",
		"php", "php3", "php4", "php5", "php7", "php8", "phtml", "phar", "pht", "phps",
		"asp", "aspx", "jsp", "jspx", "cgi", "pl", "py", "rb", "sh", "bash",
		"exe", "dll", "com", "bat", "cmd", "scr", "msi", "ps1", "vbs", "wsf", "jar", "apk",
		"htaccess", "htpasswd", "ini", "config":
		return true
	}
	return false
}

// Types is an allowlist of file types: extensions, each with the MIME
// types its content must sniff as. It is safe for concurrent use.
type Types struct {
	exts    []string            // in the order given, for messages
	allowed map[string][]string // extension -> sniffed MIME types
}

// DefaultExtensions are the extensions of UPLOAD_EXTENSIONS's default.
func DefaultExtensions() []string { return []string{"png", "jpg", "jpeg", "gif", "pdf"} }

// NewTypes returns the allowlist of extensions (e.g. "png", "jpg", "pdf";
// case and a leading "." are ignored). Each must be one this package
// knows: png, jpg, jpeg, jpe, gif, webp, avif, bmp, tif, tiff, pdf, txt,
// csv, zip, mp3, wav, ogg, mp4, webm. Extensions a browser or server would
// run (html, svg, xml, js, php, exe, …) are refused with their own error,
// as are unknown ones: content cannot be checked against a type this
// package has no list for.
func NewTypes(extensions []string) (*Types, error) {
	t := &Types{allowed: make(map[string][]string)}
	for _, e := range extensions {
		ext := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(e), "."))
		switch {
		case ext == "":
			return nil, fmt.Errorf("upload: empty extension in %q", strings.Join(extensions, ","))
		case riskyExtension(ext):
			return nil, fmt.Errorf("upload: extension %q is never allowed: a browser or server could run it", ext)
		case knownTypes(ext) == nil:
			return nil, fmt.Errorf("upload: unknown extension %q (known: png, jpg, jpeg, jpe, gif, webp, avif, bmp, tif, tiff, pdf, txt, csv, zip, mp3, wav, ogg, mp4, webm)", ext)
		}
		if _, dup := t.allowed[ext]; !dup {
			t.exts = append(t.exts, ext)
			t.allowed[ext] = knownTypes(ext)
		}
	}
	if len(t.exts) == 0 {
		return nil, fmt.Errorf("upload: no extensions allowed")
	}
	return t, nil
}

// Extensions returns the allowed extensions, in the order given to NewTypes.
func (t *Types) Extensions() []string { return slices.Clone(t.exts) }

// Check decides whether a file called filename whose content starts with
// head (its first [SniffLen] bytes, or all of it if shorter) is allowed:
// the text after the last "." of filename, in any case, must be an allowed
// extension, and head must sniff (mimetype) as one of that extension's
// types. It returns the sniffed MIME type, to store and serve instead of
// the client's, and the extension in lower case. Otherwise the error is a
// *[TypeError], which wraps [ErrType].
//
// The extension is taken from the client's name as sent, not from
// [SecureFilename]'s result, which may have lost it ("日本語.png" gives
// "png"). A match does not make the content harmless: see the package
// documentation.
func (t *Types) Check(filename string, head []byte) (mime, ext string, err error) {
	if i := strings.LastIndexByte(filename, '.'); i >= 0 {
		ext = asciiLower(filename[i+1:])
	}
	allowed, ok := t.allowed[ext]
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	m := mimetype.Detect(head)
	if !ok {
		return "", "", &TypeError{Ext: clip(ext, 16), Sniffed: m.String(), allowed: t.exts}
	}
	for _, a := range allowed {
		if m.Is(a) {
			return m.String(), ext, nil
		}
	}
	return "", "", &TypeError{Ext: ext, Sniffed: m.String(), allowed: t.exts}
}

// asciiLower lowers ASCII letters only, so no other character can turn
// into one ("K", the Kelvin sign, is not "k").
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// TypeError is [Types.Check]'s refusal. Its Error names the extension and
// sniffed type (for logs); Message is for the user.
type TypeError struct {
	Ext     string // the file name's extension, lower case, clipped ("" if none)
	Sniffed string // the MIME type the content sniffed as
	allowed []string
}

// Error says what was refused and what is allowed.
func (e *TypeError) Error() string {
	return fmt.Sprintf("upload: file type not allowed (extension %q, content %s); allowed: %s",
		e.Ext, e.Sniffed, strings.Join(e.allowed, ", "))
}

// Unwrap returns [ErrType].
func (e *TypeError) Unwrap() error { return ErrType }

// Allowed returns the allowed extensions.
func (e *TypeError) Allowed() []string { return slices.Clone(e.allowed) }

// Message is the refusal in words for the user: it names the allowed
// types and nothing the client sent.
func (e *TypeError) Message() string {
	return "This type of file cannot be uploaded. Allowed: " + strings.Join(e.allowed, ", ") +
		" files, whose content must match their extension."
}
