package secrets

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func skipOnWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not meaningful on Windows")
	}
}

func TestDevKeyCreatesOnceAndReuses(t *testing.T) {
	skipOnWindows(t)
	dataDir := filepath.Join(t.TempDir(), "data", "nested")
	k1, err := DevKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dataDir, DevKeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode %04o, want 0700", di.Mode().Perm())
	}
	content, _ := os.ReadFile(path)
	if len(content) != 65 || content[64] != '\n' {
		t.Fatalf("file holds %d bytes, want 64 hex characters and a newline", len(content))
	}
	if _, err := hex.DecodeString(string(content[:64])); err != nil {
		t.Fatalf("file is not hex: %v", err)
	}
	if string(k1.Reveal()) != string(content[:64]) {
		t.Fatal("key is not the file's text")
	}
	if err := CheckStrength(k1.Reveal()); err != nil {
		t.Fatalf("generated key is weak: %v", err)
	}

	k2, err := DevKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.Equal(k2) {
		t.Fatal("second call made a different key: sessions would not survive a restart")
	}

	other, err := DevKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if other.Equal(k1) {
		t.Fatal("two data directories got the same key")
	}
	entries, _ := os.ReadDir(dataDir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// TestDevKeyRefusesLooseMode is the attack "another local user reads the
// signing key and forges sessions".
func TestDevKeyRefusesLooseMode(t *testing.T) {
	skipOnWindows(t)
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660, 0o606, 0o666} {
		dataDir := t.TempDir()
		if _, err := DevKey(dataDir); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dataDir, DevKeyFile)
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := DevKey(dataDir)
		if err == nil {
			t.Fatalf("mode %04o accepted", mode)
		}
		if !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("error does not say how to fix: %v", err)
		}
		content, _ := os.ReadFile(path)
		if strings.Contains(err.Error(), strings.TrimSpace(string(content))) {
			t.Error("error leaks the key")
		}
	}
	// 0400 is stricter than 0600 and fine.
	dataDir := t.TempDir()
	k, _ := DevKey(dataDir)
	os.Chmod(filepath.Join(dataDir, DevKeyFile), 0o400)
	k2, err := DevKey(dataDir)
	if err != nil || !k.Equal(k2) {
		t.Fatalf("0400 refused: %v", err)
	}
}

func TestDevKeyRefusesOddFiles(t *testing.T) {
	skipOnWindows(t)
	t.Run("symlink", func(t *testing.T) {
		dataDir := t.TempDir()
		target := writeFile(t, t.TempDir(), "k", testKey)
		if err := os.Symlink(target, filepath.Join(dataDir, DevKeyFile)); err != nil {
			t.Skip(err)
		}
		if _, err := DevKey(dataDir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("symlinked key file accepted: %v", err)
		}
	})
	t.Run("weak content", func(t *testing.T) {
		dataDir := t.TempDir()
		writeFile(t, dataDir, DevKeyFile, "changeme\n")
		_, err := DevKey(dataDir)
		if err == nil || strings.Contains(err.Error(), "changeme") {
			t.Fatalf("weak key file: %v", err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		dataDir := t.TempDir()
		writeFile(t, dataDir, DevKeyFile, "")
		if _, err := DevKey(dataDir); err == nil {
			t.Fatal("empty key file accepted")
		}
	})
	t.Run("no dir", func(t *testing.T) {
		if _, err := DevKey(""); err == nil {
			t.Fatal("empty data dir accepted")
		}
	})
}

// TestDevKeyConcurrentStarts is the race "two processes start together and
// each writes its own key", after which half the sessions fail to verify.
func TestDevKeyConcurrentStarts(t *testing.T) {
	skipOnWindows(t)
	for round := 0; round < 20; round++ {
		dataDir := filepath.Join(t.TempDir(), "d")
		const n = 8
		keys := make([]Secret, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { keys[i], errs[i] = DevKey(dataDir) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if !keys[i].Equal(keys[0]) {
				t.Fatal("concurrent starts produced different keys")
			}
		}
	}
}
