package pages

import (
	"strings"
	"testing"
)

// FuzzCSPReport: any body is either ignored or yields bounded fields.
func FuzzCSPReport(f *testing.F) {
	f.Add([]byte(`{"csp-report":{"document-uri":"https://x/a?token=1","blocked-uri":"inline","violated-directive":"script-src"}}`))
	f.Add([]byte(`[{"type":"csp-violation","body":{"documentURL":"https://x/","blockedURL":"eval","effectiveDirective":"script-src"}}]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		reps := ParseCSPReports(body)
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
