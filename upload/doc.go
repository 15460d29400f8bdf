// Package upload receives file uploads safely: Werkzeug-compatible file
// names made safe to store, a type allowlist checked against the content,
// and a streaming, size-capped save into storage that commits atomically.
//
//	types, err := upload.NewTypes([]string{"png", "jpg", "jpeg", "gif", "pdf"}) // UPLOAD_EXTENSIONS
//	disk, err := upload.NewDisk("/var/lib/app/uploads")                         // UPLOAD_DIR, never served
//	rc, err := upload.NewReceiver(upload.Options{MaxBytes: 16 << 20, Types: types, Storage: disk})
//	...
//	f, err := rc.Receive(ctx, r) // in a handler; upload.Status(err) is the status to answer
//	// record f.Name, f.ContentType, f.Size, f.SHA256 under a new UUID, then:
//	err = f.Pending.Commit(ctx, id) // or f.Pending.Abort(ctx)
//	...
//	w.Header().Set("Content-Disposition", upload.ContentDisposition(name))
//
// # Names
//
// [SecureFilename] is exactly Werkzeug's secure_filename (2.2, as on
// Linux), checked against values Werkzeug produced, so names a Flask app
// stored can be reproduced. Werkzeug's result is not a safe name on its
// own: it can be empty ("..", any name in another script), start with "-",
// be a Windows device name (it handles those only when running on
// Windows), be any length, and lose the extension ("日本語.png" gives
// "png"). [StoredName] adds those rules and ends the name with the
// extension of the type the content sniffed as. Names are only for
// display and download: objects are stored under UUIDs, so a client's
// name never reaches a path.
//
// # Types
//
// A file is accepted only when its extension is in the allowlist and its
// first bytes sniff (github.com/gabriel-vasile/mimetype, 4 KiB) as a type
// listed for that extension; the sniffed type is stored and later served,
// never the Content-Type the client sent. Extensions a browser or server
// would run (html, svg, js, php, …) cannot be allowed at all.
//
// A magic-byte match does not make a file safe. A polyglot is valid as two
// formats at once: a PNG that is also an HTML page or a PHP script, a
// GIF that is also JavaScript, a PDF with a ZIP or HTML inside. Sniffing
// only stops the plain cases (an HTML page or SVG named a.png). The rest
// depends on how files are served: the bulwark service sends uploads only
// as downloads, with Content-Disposition: attachment ([ContentDisposition]),
// X-Content-Type-Options: nosniff and Content-Security-Policy: sandbox, from
// a store outside any served directory, so no browser renders one inline
// as a page of the site and no server runs one.
//
// http.DetectContentType is not used: it reads 512 bytes only and
// implements the browser sniffing algorithm, which answers text/html for
// content that looks like a page: the very judgement an upload check must
// not leave to a browser.
//
// # Streaming
//
// [Receiver.Receive] reads the multipart body one part at a time with
// mime/multipart's Reader; it never calls ParseMultipartForm, which holds
// or spools the whole form before anything can be checked. Every bound is
// an [Options] field: the whole body (MaxBytes, 413, also when an
// http.MaxBytesReader stops it first), the number of parts (MaxParts,
// 413: 100 000 tiny parts are refused after the 16th), each part's header
// (MaxHeaderBytes; the standard library alone allows 10 MiB), and the text
// fields kept (MaxFieldBytes). The file is refused by its type before a
// byte is stored; then it goes to [Storage.Write] through a SHA-256 hash
// and a counter, in buffers of a few KiB, so receiving a 16 MiB file
// allocates well under 1 MiB (BENCHMARKS.md, "Uploads").
//
// A CSRF check must not buffer the file either, so the token has to be
// readable before the file part: in a header (X-CSRFToken), or in a form
// field placed before the file input, as package csrf reads it. Text
// fields after the file are still read, into File.Fields, but only after
// the file has been written to pending storage.
//
// # Storage
//
// An upload is written as a pending object, invisible to Open, and is
// committed under a UUID only once the caller has recorded it; on any
// error Receive leaves nothing pending. A crash can still leave a pending
// object or an object without a record: [Storage.Walk] lists both with
// their times for a sweep. [Disk] keeps objects in one directory (0700,
// files 0600): a temporary ".tmp-*" file in the same directory, synced,
// renamed to its UUID without replacing anything, and the directory
// synced. Object names are checked to be UUIDs ([ValidName]), never
// interpreted as paths. The s3store subpackage keeps objects in S3.
package upload
