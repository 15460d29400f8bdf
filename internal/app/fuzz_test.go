package app

import (
	"net/url"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/password"
)

// FuzzLocalPath: whatever "next" holds, the redirect stays on this site.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/account", "/search?q=a", "//evil.example", "/\\evil", "https://evil.example",
		"javascript:alert(1)", "/\t/evil", "/%2F/evil", "", "/", "\x00", "/a\r\nLocation: x", "/.//evil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := localPath(next)
		if got == "" {
			return
		}
		if got != next || got[0] != '/' || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") {
			t.Fatalf("localPath(%q) = %q", next, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("localPath(%q) = %q reaches host %q", next, got, u.Host)
		}
		for _, c := range got {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("localPath(%q) kept a control character", next)
			}
		}
	})
}

// FuzzNormalizeEmail: an accepted address is lower case, trimmed and short.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@example.com", " A@Example.COM ", "a@b", "\"a b\"@example.com", "<a@example.com>", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := normalizeEmail(in)
		if err != nil {
			return
		}
		if got != strings.ToLower(got) || got != strings.TrimSpace(got) || len(got) > 254 || !strings.Contains(got, "@") {
			t.Fatalf("normalizeEmail(%q) = %q", in, got)
		}
	})
}

// FuzzCSPReport: any body is either ignored or yields bounded fields.
func FuzzCSPReport(f *testing.F) {
	f.Add([]byte(`{"csp-report":{"document-uri":"https://x/a?token=1","blocked-uri":"inline","violated-directive":"script-src"}}`))
	f.Add([]byte(`[{"type":"csp-violation","body":{"documentURL":"https://x/","blockedURL":"eval","effectiveDirective":"script-src"}}]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		reps := parseCSPReports(body)
		if len(reps) > 20 {
			t.Fatalf("%d reports from one body", len(reps))
		}
		for _, r := range reps {
			if len(r.Document) > 512 || len(r.Blocked) > 512 || strings.ContainsAny(r.Document+r.Blocked, "?#") {
				t.Fatalf("unbounded or query-carrying report field: %+v", r)
			}
		}
	})
}

// FuzzImportLine: a line is either a valid user or refused with a reason
// that never repeats the hash.
func FuzzImportLine(f *testing.F) {
	f.Add(`{"email":"a@example.com","name":"A","password_hash":"pbkdf2:sha1:1000$xw7xTQef334dn9dB$b16b1fba163806a10645438830b9abeaeb8611f0"}`)
	f.Add(`{"email":"a@example.com","name":"A","bio":null,"password_hash":"$2b$10$MmOKP5H6RG2sLSLQqITuVed9PJ/U5bLQbX7uulvxcT1eKp9pO.olm"}`)
	f.Add(`{"email":"a@example.com","name":"A","password_hash":"x","extra":1}`)
	f.Add(`{"email":"a@example.com","email":"b@example.com","name":"A","password_hash":"x"}`)
	f.Add(`[]`)
	hasher := password.NewHasher(password.Options{})
	f.Fuzz(func(t *testing.T, line string) {
		u, why := parseImportLine(hasher, line)
		if (u == nil) == (why == "") {
			t.Fatalf("parseImportLine(%q) = %v, %q", line, u, why)
		}
		if u != nil && (checkName(u.Name) != "" || checkBio(u.Bio) != "" || hasher.ValidateHash(u.PasswordHash) != nil) {
			t.Fatalf("accepted an invalid user: %+v", u)
		}
	})
}
