package upload_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"log"
	"mime/multipart"
	"net/http/httptest"
	"os"

	"github.com/bulwarkhq/bulwark/upload"
)

func Example() {
	dir, _ := os.MkdirTemp("", "uploads")
	defer os.RemoveAll(dir)
	disk, err := upload.NewDisk(dir) // never under a served directory
	if err != nil {
		log.Fatal(err)
	}
	types, err := upload.NewTypes([]string{"png", "jpg", "jpeg", "gif", "pdf"})
	if err != nil {
		log.Fatal(err)
	}
	rc, err := upload.NewReceiver(upload.Options{MaxBytes: 16 << 20, Types: types, Storage: disk})
	if err != nil {
		log.Fatal(err)
	}

	// A browser's form: the CSRF token before the file.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", "t0k3n")
	fw, _ := mw.CreateFormFile("file", "../../Ferien Foto.png")
	png.Encode(fw, image.NewGray(image.Rect(0, 0, 4, 4)))
	mw.Close()
	r := httptest.NewRequest("POST", "/files", &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())

	ctx := context.Background()
	f, err := rc.Receive(ctx, r)
	if err != nil {
		fmt.Println(upload.Status(err), err)
		return
	}
	fmt.Println(f.Name, f.ContentType, f.Fields.Get("csrf_token"))
	// Record the file, then make it visible under its id.
	id := "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	if err := f.Pending.Commit(ctx, id); err != nil {
		f.Pending.Abort(ctx)
		log.Fatal(err)
	}
	obj, _ := disk.Open(ctx, id)
	defer obj.Close()
	fmt.Println(obj.Size() == f.Size)
	// Output:
	// Ferien_Foto.png image/png t0k3n
	// true
}

func ExampleSecureFilename() {
	fmt.Println(upload.SecureFilename("../../../etc/passwd"))
	fmt.Println(upload.SecureFilename("i contain cool ümläuts.txt"))
	fmt.Printf("%q\n", upload.SecureFilename("日本語.png"))
	// Output:
	// etc_passwd
	// i_contain_cool_umlauts.txt
	// "png"
}

func ExampleStoredName() {
	fmt.Println(upload.StoredName("日本語.png", "png"))
	fmt.Println(upload.StoredName("CON.png", "png"))
	fmt.Println(upload.StoredName("-rf .JPG", "jpg"))
	fmt.Println(upload.StoredName("invoice.html", "pdf"))
	// Output:
	// file.png
	// _CON.png
	// rf_.jpg
	// invoice.html.pdf
}

func ExampleTypes_Check() {
	types, _ := upload.NewTypes([]string{"png", "pdf"})
	mime, ext, err := types.Check("scan.PDF", []byte("%PDF-1.7\n"))
	fmt.Println(mime, ext, err)
	_, _, err = types.Check("a.png", []byte("<!DOCTYPE html><script>alert(1)</script>"))
	fmt.Println(upload.Status(err), err)
	// Output:
	// application/pdf pdf <nil>
	// 400 upload: file type not allowed (extension "png", content text/html; charset=utf-8); allowed: png, pdf
}

func ExampleContentDisposition() {
	w := httptest.NewRecorder()
	w.Header().Set("Content-Disposition", upload.ContentDisposition("Été 2024.pdf"))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox")
	fmt.Println(w.Header().Get("Content-Disposition"))
	// Output:
	// attachment; filename="_t_ 2024.pdf"; filename*=UTF-8''%C3%89t%C3%A9%202024.pdf
}
