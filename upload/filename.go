package upload

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// SecureFilename returns what Werkzeug 2.2's secure_filename returns for
// name on a POSIX system: the name in NFKD form with every non-ASCII
// character dropped, "/" and runs of whitespace turned into one "_", every
// character but ASCII letters, digits, "_", "." and "-" removed, and "."
// and "_" trimmed from both ends. The result may be empty (for "..", or a
// name in another script: "日本語.png" gives "png"), may start with "-",
// may be a Windows device name and has no length bound: store [StoredName]
// instead. It is here so a Flask app's names can be reproduced exactly.
func SecureFilename(name string) string {
	s := norm.NFKD.String(name)
	out := make([]byte, 0, len(s))
	inWord, sep := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			continue // encode("ascii", "ignore"); bytes of invalid UTF-8 go too
		}
		if c == '/' || isPythonSpace(c) {
			// "_".join(name.split()) after "/" became " ": a run of
			// whitespace between two words is one "_"; at either end, nothing.
			if inWord {
				inWord, sep = false, true
			}
			continue
		}
		if sep {
			out = append(out, '_')
			sep = false
		}
		inWord = true
		if isFilenameChar(c) {
			out = append(out, c)
		}
	}
	return strings.Trim(string(out), "._")
}

// isPythonSpace reports the ASCII characters Python's str.split() splits
// on: space, \t \n \v \f \r and the separators \x1c-\x1f.
func isPythonSpace(c byte) bool {
	return c == ' ' || '\t' <= c && c <= '\r' || 0x1c <= c && c <= 0x1f
}

// isFilenameChar reports the characters Werkzeug keeps: [A-Za-z0-9_.-].
func isFilenameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '.' || c == '-'
}

// MaxNameLen is the most characters [StoredName] returns.
const MaxNameLen = 100

// maxExtLen bounds the extension StoredName appends.
const maxExtLen = 16

// fallbackName is the stored name's base when nothing of the client's
// name is left.
const fallbackName = "file"

// StoredName returns the name to store and offer for download for a file
// the client called name, whose content sniffed as a type with extension
// ext (without the dot, e.g. "png", as [Types.Check] returns it). It is
// [SecureFilename] made safe everywhere, which Werkzeug leaves to the app:
//
//   - ASCII letters, digits, "_", "." and "-" only: no path separator, no
//     control or shell character;
//   - never empty, and never starting with "." or "-" (no hidden file, no
//     command-line option); what is left of a name like "日本語.png" is
//     replaced by "file";
//   - never a Windows device name (CON, NUL, COM1, …, in any case, with any
//     extension): those get a leading "_", as Werkzeug does on Windows;
//   - at most [MaxNameLen] (100) characters, cut from the end of the base;
//   - ending in "." + ext: the extension of the sniffed type, whatever the
//     client's name ended with (a matching one is kept in lower case).
//
// ext is reduced to lower-case ASCII letters and digits, at most 16; an
// ext with none gives a name without extension.
func StoredName(name, ext string) string {
	ext = cleanExt(ext)
	base := SecureFilename(name)
	if ext != "" {
		if len(base) > len(ext) && base[len(base)-len(ext)-1] == '.' && strings.EqualFold(base[len(base)-len(ext):], ext) {
			base = base[:len(base)-len(ext)-1]
		} else if strings.EqualFold(base, ext) {
			base = "" // "日本語.png" -> "png": the extension alone is no name
		}
	}
	room := MaxNameLen
	if ext != "" {
		room -= len(ext) + 1
	}
	base = trimBase(base, room)
	if base == "" {
		base = fallbackName
	}
	if isWindowsDevice(base) {
		base = "_" + trimBase(base, room-1)
	}
	if ext == "" {
		return base
	}
	return base + "." + ext
}

// trimBase cuts base to at most n bytes and removes what may not start or
// end a name: ".", "-" and "_" in front, "." at the end (Windows drops
// trailing dots, which would change the extension).
func trimBase(base string, n int) string {
	if len(base) > n {
		base = base[:n]
	}
	return strings.TrimRight(strings.TrimLeft(base, ".-_"), ".")
}

// cleanExt keeps the lower-case ASCII letters and digits of ext, at most maxExtLen.
func cleanExt(ext string) string {
	b := make([]byte, 0, min(len(ext), maxExtLen))
	for i := 0; i < len(ext) && len(b) < maxExtLen; i++ {
		c := ext[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			b = append(b, c)
		}
	}
	return string(b)
}

// isWindowsDevice reports whether a name whose base is base would open a
// device on Windows: its part before the first "." (trailing spaces and
// dots ignored there) is a device name, in any case.
func isWindowsDevice(base string) bool {
	stem, _, _ := strings.Cut(base, ".")
	stem = strings.TrimRight(stem, " ")
	if len(stem) == 4 && (strings.EqualFold(stem[:3], "COM") || strings.EqualFold(stem[:3], "LPT")) {
		return '0' <= stem[3] && stem[3] <= '9'
	}
	switch strings.ToUpper(stem) {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	return false
}

// ContentDisposition returns a Content-Disposition value that makes a
// browser save the response as a file called name (RFC 6266): an ASCII
// fallback in filename (every character outside printable ASCII, and " \
// and %, as "_") and the exact name, UTF-8 and percent-encoded, in
// filename* (RFC 8187, was 5987), which current browsers prefer. Invalid
// UTF-8 in name becomes U+FFFD. An empty name gives "attachment" alone.
func ContentDisposition(name string) string {
	if name == "" {
		return "attachment"
	}
	name = strings.ToValidUTF8(name, "\uFFFD")
	var b strings.Builder
	b.Grow(len("attachment; filename=\"\"; filename*=UTF-8''") + 4*len(name))
	b.WriteString(`attachment; filename="`)
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' {
			b.WriteByte('_')
		} else {
			b.WriteRune(r)
		}
	}
	b.WriteString(`"; filename*=UTF-8''`)
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		if c := name[i]; isAttrChar(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// isAttrChar reports RFC 8187's attr-char: what a value may hold unencoded.
func isAttrChar(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}

// clip cuts s to n bytes, for echoing client text in errors.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
