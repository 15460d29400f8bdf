package app

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/bulwarkhq/bulwark/internal/testenv"
)

// chromium is a headless Debian Chromium started for one test, and what its
// pages reported: Content-Security-Policy violations from the console and
// uncaught script errors.
type chromium struct {
	// ctx is the browser's context. It carries no deadline (one would stop
	// the browser); give each step its own.
	ctx context.Context

	mu       sync.Mutex
	problems []string
}

// startChromium starts the browser, or skips the test when Chromium is not
// installed (fails under BULWARK_REQUIRE_SERVICES=1). It stops at cleanup.
func startChromium(t *testing.T) *chromium {
	t.Helper()
	exe := testenv.Chromium(t)
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(exe), chromedp.UserDataDir(t.TempDir())}
	for _, f := range testenv.ChromiumFlags() {
		opts = append(opts, chromedp.Flag(strings.TrimPrefix(f, "--"), true))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)

	c := &chromium{}
	listen := chromedp.WithListener(func(ev any) {
		var text string
		switch e := ev.(type) {
		case *log.EventEntryAdded:
			if strings.Contains(e.Entry.Text, "Content Security Policy") || strings.Contains(e.Entry.Text, "Content-Security-Policy") {
				text = e.Entry.Text
			}
		case *runtime.EventExceptionThrown:
			text = "exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				text += " " + e.ExceptionDetails.Exception.Description
			}
		}
		if text != "" {
			c.mu.Lock()
			c.problems = append(c.problems, text)
			c.mu.Unlock()
		}
	})
	var cancel context.CancelFunc
	c.ctx, cancel = chromedp.NewContext(allocCtx, listen)
	t.Cleanup(cancel)
	// The first call starts the browser.
	if _, err := chromedp.Call(c.ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(c.ctx, runtime.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("runtime.enable: %v", err)
	}
	return c
}

// Problems returns the CSP violations and script errors seen so far.
func (c *chromium) Problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.problems...)
}
