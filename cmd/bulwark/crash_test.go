package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/internal/testenv"
	"github.com/bulwarkhq/bulwark/upload"
	"github.com/bulwarkhq/bulwark/upload/s3store"
)

// A bulwark killed with SIGKILL in the middle of an upload: after a
// restart, every file the database shows has its object, and every object
// has its row. (Pending leftovers are invisible and swept after an hour.)
func TestUploadSurvivesSIGKILL(t *testing.T) {
	t.Run("disk", func(t *testing.T) {
		dir := t.TempDir()
		uploadSurvivesSIGKILL(t, dir, nil, func() (upload.Storage, error) {
			return upload.NewDisk(filepath.Join(dir, "data", "uploads"))
		})
	})
	t.Run("s3", func(t *testing.T) {
		s3 := testenv.S3(t)
		url := "s3://" + s3.Bucket + "?endpoint=" + s3.Endpoint + "&region=" + s3.Region
		env := map[string]string{"UPLOAD_STORAGE": url, "S3_ACCESS_KEY_ID": s3.AccessKeyID, "S3_SECRET_ACCESS_KEY": s3.SecretAccessKey}
		uploadSurvivesSIGKILL(t, t.TempDir(), env, func() (upload.Storage, error) {
			o, err := s3store.ParseURL(url)
			if err != nil {
				return nil, err
			}
			o.AccessKeyID, o.SecretAccessKey = s3.AccessKeyID, s3.SecretAccessKey
			return s3store.New(context.Background(), o)
		})
	})
}

func uploadSurvivesSIGKILL(t *testing.T, dir string, extra map[string]string, openStorage func() (upload.Storage, error)) {
	env := map[string]string{"DATA_DIR": filepath.Join(dir, "data"), "SECRET_KEY": strongKey, "LOG_LEVEL": "error"}
	for k, v := range extra {
		env[k] = v
	}
	ctx := context.Background()
	create := command(ctx, dir, env, "user", "create", "--email", "crash@example.com", "--name", "Crash")
	create.Stdin = strings.NewReader("violet kettle harbour sunrise\n")
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	keyOut, err := command(ctx, dir, env, "apikey", "create", "--email", "crash@example.com", "--name", "crash",
		"--scope", "files:read", "--scope", "files:write").Output()
	if err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	key := strings.TrimSpace(string(keyOut))

	var img bytes.Buffer
	png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 2, 2)))
	base, proc := startServe(t, dir, env)
	ct, body := crashBody(img.Bytes())
	res := post(t, base+"/api/files", key, ct, bytes.NewReader(body.Bytes()))
	if res.StatusCode != 201 {
		t.Fatalf("first upload: %d", res.StatusCode)
	}
	var first struct{ ID string }
	json.NewDecoder(res.Body).Decode(&first)
	res.Body.Close()

	// A second upload sends half its body and waits: the process is killed
	// while it is being received.
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest("POST", base+"/api/files", pr)
		req.Header.Set("X-API-Key", key)
		req.Header.Set("Content-Type", ct)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	half := append(append([]byte{}, body.Bytes()[:len(body.Bytes())-100]...), bytes.Repeat([]byte{0}, 256<<10)...)
	pw.Write(half)
	time.Sleep(300 * time.Millisecond)
	proc.Process.Signal(os.Kill)
	proc.Wait()
	pw.CloseWithError(io.ErrUnexpectedEOF)
	<-done

	base, proc = startServe(t, dir, env)
	defer func() { proc.Process.Signal(os.Interrupt); proc.Wait() }()
	if res := get(t, base+"/api/files/"+first.ID, key); res.StatusCode != 200 {
		t.Fatalf("the file uploaded before the crash: %d", res.StatusCode)
	}

	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "data", "bulwark.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.FileStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	storage, err := openStorage()
	if err != nil {
		t.Fatal(err)
	}
	objects := map[string]bool{}
	storage.Walk(ctx, func(name string, pending bool, _ time.Time) error {
		if !pending {
			objects[name] = true
		}
		return nil
	})
	for id, f := range rows {
		if f.Ready && !objects[id] {
			t.Errorf("file %s has a row but no object", id)
		}
	}
	for name := range objects {
		if _, ok := rows[name]; !ok {
			t.Errorf("object %s has no row", name)
		}
	}
	if !objects[first.ID] {
		t.Error("the first file's object is gone")
	}
}

func crashBody(img []byte) (string, *bytes.Buffer) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "a.png")
	fw.Write(img)
	fw.Write(make([]byte, 512<<10))
	mw.Close()
	return mw.FormDataContentType(), &body
}

// startServe starts `bulwark serve` and returns its base URL and process.
func startServe(t *testing.T, dir string, env map[string]string) (string, *exec.Cmd) {
	t.Helper()
	addr := testenv.FreeAddr(t)
	env["ADDR"] = addr
	cmd := command(context.Background(), dir, env, "serve")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			return "http://" + addr, cmd
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("serve did not start")
		}
	}
}

func post(t *testing.T, url, key, ct string, body io.Reader) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", url, body)
	req.Header.Set("X-API-Key", key)
	req.Header.Set("Content-Type", ct)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func get(t *testing.T, url, key string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-API-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}
