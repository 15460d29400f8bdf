// Package server runs Bulwark's HTTP(S) listeners with safe limits and a
// graceful shutdown.
//
// With Options.TLSCertFile and Options.TLSKeyFile set, Addr serves HTTPS
// (TLS 1.2 minimum, AEAD cipher suites only, HTTP/2 offered by ALPN). The
// certificate is re-read when its files change and on SIGHUP (see Run); a new
// pair that does not load is logged and the previous one keeps serving.
// A browser that speaks plain HTTP to the HTTPS port is answered with a
// redirect to https instead of a TLS error: the first byte of every connection
// is peeked, a TLS handshake (0x16) goes to the TLS server, anything else gets
// one request read under tight limits and a 301 (GET, HEAD) or 308 (other
// methods) with "Connection: close". Options.HTTPAddr adds a listener that
// does only that, for port 80.
//
// # Timeouts and limits
//
// Each one has a default; zero in Options means "use the default", never
// "no limit", because an unbounded server can be held open by anyone.
//
//   - ReadHeaderTimeout, 5s: the time from accepting a connection (or the end
//     of the previous request) to the end of the request headers. Real clients
//     send headers in one or two packets, so 5s leaves room for a slow mobile
//     link while making slowloris (headers trickled a byte at a time to hold a
//     connection and its goroutine) cost the attacker a new connection every
//     few seconds. net/http also uses it to bound the TLS handshake, and this
//     package to bound the wait for a connection's first byte.
//   - ReadTimeout, 30s: the whole request including the body. It stops
//     R.U.D.Y.-style slow bodies. 30s moves a 16 MiB body (the default
//     MAX_CONTENT_LENGTH) at about 4.5 Mbit/s; a handler that accepts slower
//     uploads can extend its own deadline with http.ResponseController.
//   - WriteTimeout, 60s: from the end of the request headers to the end of the
//     response, so it also covers reading the body and running the handler.
//     It must exceed ReadTimeout, or a request that uses its whole read budget
//     could never be answered; the rest bounds clients that read the response
//     slowly to keep a handler's goroutine and buffers alive.
//   - IdleTimeout, 120s: how long a keep-alive connection may wait for its next
//     request. It is longer than the idle timeouts of common load balancers
//     (60s), so the balancer, not this server, closes a shared connection and no
//     request is sent on a connection being closed; it still frees idle sockets.
//   - MaxHeaderBytes, 64 KiB: net/http's default is 1 MiB per request. Browsers
//     cap cookies at about 4 KiB each, and nginx's default header buffers are
//     4 x 8 KiB; 64 KiB fits any honest request and is 16 times less memory to
//     hand an attacker per connection.
//   - ShutdownTimeout, 20s: after SIGINT or SIGTERM, in-flight requests get this
//     long to finish. It is below Kubernetes' default 30s grace period and
//     systemd's 90s stop timeout, so the server closes what is left itself
//     before it is killed, and logs that it did.
//
// The plain-HTTP redirect path reads at most MaxHeaderBytes within
// ReadHeaderTimeout, never reads a body, and keeps no connection open after
// its single answer.
package server
