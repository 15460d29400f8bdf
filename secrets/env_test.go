package secrets

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFromEnv(t *testing.T) {
	dir := t.TempDir()
	const content = "file-content-that-must-stay-hidden"
	nl := writeFile(t, dir, "nl", content+"\n")
	crlf := writeFile(t, dir, "crlf", content+"\r\n")
	inner := writeFile(t, dir, "inner", "  "+content+"\nx\n")
	empty := writeFile(t, dir, "empty", "\n")
	big := writeFile(t, dir, "big", strings.Repeat("k", maxFileSize+1))
	missing := filepath.Join(dir, "missing")

	tests := []struct {
		name    string
		env     map[string]string
		want    string
		ok      bool
		wantErr []string // substrings of the error
	}{
		{name: "unset", env: nil},
		{name: "value", env: map[string]string{"K": "v a l"}, want: "v a l", ok: true},
		{name: "file newline", env: map[string]string{"K_FILE": nl}, want: content, ok: true},
		{name: "file crlf", env: map[string]string{"K_FILE": crlf}, want: content, ok: true},
		{name: "file keeps inner bytes", env: map[string]string{"K_FILE": inner}, want: "  " + content + "\nx", ok: true},
		{name: "both", env: map[string]string{"K": "value-that-must-stay-hidden", "K_FILE": nl}, wantErr: []string{"K and K_FILE", "both set"}},
		{name: "missing file", env: map[string]string{"K_FILE": missing}, wantErr: []string{"K_FILE", missing}},
		{name: "directory", env: map[string]string{"K_FILE": dir}, wantErr: []string{"K_FILE", dir, "not a regular file"}},
		{name: "device", env: map[string]string{"K_FILE": os.DevNull}, wantErr: []string{"K_FILE", "not a regular file"}},
		{name: "empty file", env: map[string]string{"K_FILE": empty}, wantErr: []string{"K_FILE", empty, "empty"}},
		{name: "huge file", env: map[string]string{"K_FILE": big}, wantErr: []string{"K_FILE", "larger than"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok, err := FromEnv(mapEnv(tt.env), "K")
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("want error, got ok=%v", ok)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				for _, secret := range []string{content, "value-that-must-stay-hidden", "kkkkkkkk"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error leaks the secret: %q", err)
					}
				}
				if ok || !s.IsZero() {
					t.Error("error with a value")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.ok || string(s.Reveal()) != tt.want {
				t.Errorf("got %q, %v; want %q, %v", s.Reveal(), ok, tt.want, tt.ok)
			}
		})
	}
}

func TestFromFileErrors(t *testing.T) {
	_, err := FromFile(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("want fs.ErrNotExist in chain, got %v", err)
	}
	if !strings.HasPrefix(err.Error(), "secrets: ") {
		t.Errorf("error lacks package prefix: %v", err)
	}
}
