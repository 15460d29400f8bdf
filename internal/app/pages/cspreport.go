package pages

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/bulwarkhq/bulwark/internal/app/web"
)

// maxCSPReport bounds a violation report; real ones are a few hundred bytes.
const maxCSPReport = 16 << 10

// cspReport logs Content-Security-Policy violation reports from browsers,
// both the report-uri form and the Reporting API form.
func (p *Pages) cspReport(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCSPReport+1))
	if err != nil || len(body) > maxCSPReport {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	for _, rep := range ParseCSPReports(body) {
		p.log.WarnContext(r.Context(), "csp violation",
			"document", rep.Document, "blocked", rep.Blocked, "directive", rep.Directive,
			"client", web.ClientAddr(r))
	}
	w.WriteHeader(http.StatusNoContent)
}

// CSPViolation is what the log keeps of one report.
type CSPViolation struct{ Document, Blocked, Directive string }

// ParseCSPReports reads {"csp-report": {...}} or a Reporting API array of
// {"type": "csp-violation", "body": {...}}. Unknown shapes yield nothing;
// queries and fragments are cut from URLs (they can carry tokens).
func ParseCSPReports(body []byte) []CSPViolation {
	clean := func(s string) string {
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			s = s[:i]
		}
		return truncate(s, 512)
	}
	var legacy struct {
		Report *struct {
			Document  string `json:"document-uri"`
			Blocked   string `json:"blocked-uri"`
			Directive string `json:"violated-directive"`
			Effective string `json:"effective-directive"`
		} `json:"csp-report"`
	}
	if json.Unmarshal(body, &legacy) == nil && legacy.Report != nil {
		d := legacy.Report.Effective
		if d == "" {
			d = legacy.Report.Directive
		}
		return []CSPViolation{{clean(legacy.Report.Document), clean(legacy.Report.Blocked), truncate(d, 128)}}
	}
	var modern []struct {
		Type string `json:"type"`
		Body struct {
			Document  string `json:"documentURL"`
			Blocked   string `json:"blockedURL"`
			Directive string `json:"effectiveDirective"`
		} `json:"body"`
	}
	if json.Unmarshal(body, &modern) != nil {
		return nil
	}
	var out []CSPViolation
	for i, m := range modern {
		if i == 20 {
			break
		}
		if m.Type == "csp-violation" {
			out = append(out, CSPViolation{clean(m.Body.Document), clean(m.Body.Blocked), truncate(m.Body.Directive, 128)})
		}
	}
	return out
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
