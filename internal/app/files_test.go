package app

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/internal/testenv"
)

// storages are the places uploads are kept; every file test runs on each.
func storages() []backend {
	return []backend{
		{"disk", func(t *testing.T) map[string]string { return map[string]string{} }},
		{"s3", func(t *testing.T) map[string]string {
			s3 := testenv.S3(t)
			return map[string]string{
				"UPLOAD_STORAGE":       fmt.Sprintf("s3://%s?endpoint=%s&region=%s", s3.Bucket, s3.Endpoint, s3.Region),
				"S3_ACCESS_KEY_ID":     s3.AccessKeyID,
				"S3_SECRET_ACCESS_KEY": s3.SecretAccessKey,
			}
		}},
	}
}

func forEachStorage(t *testing.T, env map[string]string, f func(t *testing.T, s *testServer)) {
	for _, st := range storages() {
		t.Run(st.name, func(t *testing.T) {
			e := st.env(t)
			for k, v := range env {
				e[k] = v
			}
			f(t, startApp(t, e))
		})
	}
}

// pngBytes is a real 2×2 PNG.
func pngBytes(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// multipartBody builds a body with the given fields first, then the file.
func multipartBody(name string, content []byte, fields ...string) (string, *bytes.Buffer) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	return mw.FormDataContentType(), &body
}

func uploadAPI(t *testing.T, s *testServer, key, name string, content []byte) apiResponse {
	t.Helper()
	ct, body := multipartBody(name, content)
	return call(t, s.URL, "POST", "/api/files", key, ct, body)
}

// objects lists what the storage holds: committed and pending objects.
func objects(t *testing.T, s *testServer) (committed, pending []string) {
	t.Helper()
	err := s.deps.Files.Storage.Walk(context.Background(), func(name string, isPending bool, _ time.Time) error {
		if isPending {
			pending = append(pending, name)
		} else {
			committed = append(committed, name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return committed, pending
}

func TestFilesUploadDownloadDelete(t *testing.T) {
	forEachStorage(t, nil, func(t *testing.T, s *testServer) {
		ann := makeUser(t, s, "ann@example.com", false)
		key, _ := makeKey(t, s, ann, apikey.FilesRead, apikey.FilesWrite)
		img := pngBytes(t)
		r := uploadAPI(t, s, key, "holiday photo.png", img)
		if r.status != 201 || r.json["content_type"] != "image/png" || r.json["filename"] != "holiday_photo.png" {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		id := r.json["id"].(string)
		d := call(t, s.URL, "GET", "/api/files/"+id, key, "", nil)
		if d.status != 200 || d.body != string(img) {
			t.Fatalf("download: %d, %d bytes", d.status, len(d.body))
		}
		for k, want := range map[string]string{
			"Content-Type":                 "image/png",
			"X-Content-Type-Options":       "nosniff",
			"Content-Security-Policy":      "sandbox; default-src 'none'",
			"Cross-Origin-Resource-Policy": "same-origin",
		} {
			if got := d.header.Get(k); got != want {
				t.Errorf("download %s = %q, want %q", k, got, want)
			}
		}
		if cd := d.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "holiday_photo.png") {
			t.Errorf("Content-Disposition %q", cd)
		}
		if rg := call(t, s.URL, "GET", "/api/files/"+id, key, "", nil, "Range", "bytes=1-3"); rg.status != 206 || rg.body != string(img[1:4]) {
			t.Errorf("range: %d %q", rg.status, rg.body)
		}
		// Another user's key: 404, never 403.
		bob := makeUser(t, s, "bob@example.com", false)
		bkey, _ := makeKey(t, s, bob, apikey.FilesRead, apikey.FilesWrite)
		for _, m := range []string{"GET", "DELETE"} {
			if r := call(t, s.URL, m, "/api/files/"+id, bkey, "", nil); r.status != 404 {
				t.Errorf("%s another user's file: %d, want 404", m, r.status)
			}
		}
		if r := call(t, s.URL, "DELETE", "/api/files/"+id, key, "", nil); r.status != 204 {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if r := call(t, s.URL, "GET", "/api/files/"+id, key, "", nil); r.status != 404 {
			t.Fatalf("after delete: %d", r.status)
		}
		if committed, pending := objects(t, s); len(committed)+len(pending) != 0 {
			t.Fatalf("storage still holds %v %v after delete", committed, pending)
		}
	})
}

// Names that try to leave the storage, or to be something else, are stored
// as safe names under a UUID.
func TestFilesHostileNames(t *testing.T) {
	forEachStorage(t, nil, func(t *testing.T, s *testServer) {
		u := makeUser(t, s, "names@example.com", false)
		key, _ := makeKey(t, s, u, apikey.FilesRead, apikey.FilesWrite)
		img := pngBytes(t)
		// The names as they are: those without an allowed extension
		// are refused (400) and nothing is stored; the rest are stored under
		// a safe name. Then the same names ending in .png, all stored.
		refusable := map[string]bool{}
		names := []string{"../../etc/passwd", `..\..\windows\win.ini`, "a/../../b.png", "x.png\x00.html",
			"CON.png", ".htaccess", strings.Repeat("a", 5000), "日本語.png"}
		for _, n := range names {
			refusable[n] = true
		}
		names = append(names, "../../etc/passwd.png", `..\..\windows\win.ini.png`, ".htaccess.png", strings.Repeat("a", 5000)+".png")
		stored := 0
		for _, name := range names {
			r := uploadAPI(t, s, key, name, img)
			if r.status == 400 && (refusable[name] && !strings.HasSuffix(name, ".png") || strings.ContainsRune(name, 0)) {
				continue // no allowed extension, or a NUL in a part header: refused, nothing stored
			}
			if r.status != 201 {
				t.Errorf("%.40q: %d %s", name, r.status, r.body)
				continue
			}
			stored++
			safe, _ := r.json["filename"].(string)
			if strings.ContainsAny(safe, `/\`) || strings.HasPrefix(safe, ".") || len(safe) > 100 ||
				!strings.HasSuffix(safe, ".png") || strings.EqualFold(strings.TrimSuffix(safe, ".png"), "CON") {
				t.Errorf("%.40q stored as %q", name, safe)
			}
		}
		committed, pending := objects(t, s)
		if len(committed) != stored || len(pending) != 0 {
			t.Errorf("%d uploads accepted, but storage holds %d objects and %d pending ones", stored, len(committed), len(pending))
		}
		for _, name := range committed {
			if len(name) != 36 || strings.ContainsAny(name, `/\.`) {
				t.Errorf("object named %q", name)
			}
		}
	})
}

// Content that is not what its name says is refused, and nothing is kept.
func TestFilesTypeChecks(t *testing.T) {
	forEachStorage(t, nil, func(t *testing.T, s *testServer) {
		u := makeUser(t, s, "types@example.com", false)
		key, _ := makeKey(t, s, u, apikey.FilesWrite)
		for name, content := range map[string]string{
			"shell.php.png": "<?php system($_GET['c']); ?>",
			"page.png":      "<!doctype html><html><script>alert(1)</script></html>",
			"vector.png":    `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`,
			"doc.png":       "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
		} {
			if r := uploadAPI(t, s, key, name, []byte(content)); r.status != 400 || !strings.Contains(r.body, "png") {
				t.Errorf("%s: %d %s, want 400 naming the allowed types", name, r.status, r.body)
			}
		}
		if committed, pending := objects(t, s); len(committed)+len(pending) != 0 {
			t.Fatalf("refused uploads left %v %v", committed, pending)
		}
	})
}

// Over the body cap: 413, and nothing left in storage or the database.
func TestFilesTooLarge(t *testing.T) {
	forEachStorage(t, nil, func(t *testing.T, s *testServer) { // MAX_CONTENT_LENGTH at its default, 16 MiB
		u := makeUser(t, s, "big@example.com", false)
		key, _ := makeKey(t, s, u, apikey.FilesWrite)
		big := append(pngBytes(t), make([]byte, 17<<20)...)
		if r := uploadAPI(t, s, key, "big.png", big); r.status != 413 {
			t.Fatalf("17 MiB upload under the 16 MiB cap: %d", r.status)
		}
		rows, _ := s.deps.DB.FileStates(context.Background())
		if committed, pending := objects(t, s); len(committed)+len(pending)+len(rows) != 0 {
			t.Fatalf("left behind: %v %v %v", committed, pending, rows)
		}
	})
}

// Two uploads at once that together exceed the quota: exactly one is kept.
func TestFilesQuotaRace(t *testing.T) {
	s := startApp(t, map[string]string{"UPLOAD_QUOTA": "100000"})
	u := makeUser(t, s, "quota@example.com", false)
	key, _ := makeKey(t, s, u, apikey.FilesWrite)
	img := append(pngBytes(t), make([]byte, 60000)...)
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); codes <- uploadAPI(t, s, key, "q.png", img).status }()
	}
	wg.Wait()
	close(codes)
	seen := map[int]int{}
	for c := range codes {
		seen[c]++
	}
	if seen[201] != 1 || seen[413] != 1 {
		t.Fatalf("parallel uploads over the quota: %v, want one 201 and one 413", seen)
	}
}

// The account page uploads (the CSRF token first, the file streamed),
// lists, downloads and deletes; another user's file id is 404.
func TestFilesOnAccountPage(t *testing.T) {
	s := startApp(t, nil)
	b := s.browser(t)
	b.register("page@example.com", "Page", goodPassword)
	ct, body := multipartBody("me.png", pngBytes(t), "csrf_token", b.token("/account"))
	req, _ := http.NewRequest("POST", s.URL+"/files", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Origin", s.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if res := b.do(req); res.StatusCode != 303 {
		t.Fatalf("upload from the page: %d %.300s", res.StatusCode, res.body)
	}
	page := b.get("/account").body
	i := strings.Index(page, `href="/files/`)
	if i < 0 || !strings.Contains(page, "me.png") {
		t.Fatal("the account page does not list the file")
	}
	id := page[i+len(`href="/files/`) : i+len(`href="/files/`)+36]
	if res := b.get("/files/" + id); res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download from the page: %d", res.StatusCode)
	}
	other := s.browser(t)
	other.register("other-page@example.com", "Other", goodPassword)
	if res := other.get("/files/" + id); res.StatusCode != 404 {
		t.Fatalf("another user's file by page: %d, want 404", res.StatusCode)
	}
	if res := b.submit("/account", "/files/"+id+"/delete", map[string][]string{}); res.StatusCode != 303 {
		t.Fatalf("delete from the page: %d", res.StatusCode)
	}
	if res := b.get("/files/" + id); res.StatusCode != 404 {
		t.Fatalf("after delete: %d", res.StatusCode)
	}
	_ = io.Discard
}
