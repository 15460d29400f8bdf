package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/bulwarkhq/bulwark/internal/server"
)

// Listen binds first, so the caller learns the address of port 0; Serve
// runs until its context is cancelled and then drains in-flight requests.
func ExampleListen() {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	s, err := server.Listen(ctx, server.Options{
		Addr: "127.0.0.1:0",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello")
		}),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()

	resp, err := http.Get("http://" + s.Addr().String() + "/")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	stop()
	fmt.Println("shutdown error:", <-done)
	// Output:
	// 200 hello
	// shutdown error: <nil>
}

// How cmd/bulwark runs the service: HTTPS on :443 with the certificate
// reloaded on SIGHUP or when its files change, port 80 redirecting to it,
// and a graceful stop on SIGINT or SIGTERM.
func ExampleRun() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := server.Run(ctx, server.Options{
		Addr:        ":443",
		HTTPAddr:    ":80",
		TLSCertFile: "/etc/bulwark/tls/fullchain.pem",
		TLSKeyFile:  "/etc/bulwark/tls/privkey.pem",
		Handler:     http.NotFoundHandler(),
	})
	if err != nil {
		slog.Error("bulwark stopped", "error", err)
		os.Exit(1)
	}
}
