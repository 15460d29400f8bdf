// Command bare is the baseline for bench/run.sh: a net/http server with no
// middleware that answers "ok" (200, text/plain) on every path and method.
// It drains the request body first, so POST routes cost the same read as
// they do in bulwark. It listens on the address given as its only argument
// (default 127.0.0.1:8090).
package main

import (
	"io"
	"log"
	"net/http"
	"os"
)

func main() {
	addr := "127.0.0.1:8090"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok")
	})
	log.Fatal(http.ListenAndServe(addr, h))
}
