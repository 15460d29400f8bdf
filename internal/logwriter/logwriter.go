// Package logwriter buffers log output so that a busy server does not make a
// write system call for every access-log line.
//
// Lines are collected in memory and written out when the buffer fills, every
// flush interval, and at Close. A line is never split across writes of the
// underlying writer, and nothing is lost at a clean shutdown: Close writes
// out what is buffered. What a hard crash (SIGKILL, power loss) can lose is
// at most one interval of lines, which is why the interval is short.
package logwriter

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Writer is a buffered, periodically flushed io.Writer, safe for concurrent
// use. Each Write should be one whole log record, as slog handlers make.
type Writer struct {
	mu   sync.Mutex
	w    io.Writer
	buf  *bufio.Writer
	err  error // the first error of the underlying writer, kept for Close
	stop chan struct{}
	done chan struct{}
}

// New returns a Writer over w with a buffer of size bytes, flushed at least
// every interval. Close it to flush and stop its goroutine.
func New(w io.Writer, size int, interval time.Duration) *Writer {
	lw := &Writer{
		w:    w,
		buf:  bufio.NewWriterSize(w, size),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go lw.flushEvery(interval)
	return lw
}

// Write buffers p. A record larger than the free space first flushes what is
// buffered, so records reach w whole and in order.
func (lw *Writer) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if len(p) > lw.buf.Available() && lw.buf.Buffered() > 0 {
		_ = lw.flushLocked() // a failure is kept in lw.err
	}
	n, err := lw.buf.Write(p)
	if err != nil {
		// bufio keeps a write error forever; remember it and start over so
		// that logging resumes when the writer recovers (a full disk freed).
		lw.keep(err)
		return len(p), nil
	}
	return n, nil
}

// Flush writes out what is buffered.
func (lw *Writer) Flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.flushLocked()
}

func (lw *Writer) flushLocked() error {
	err := lw.buf.Flush()
	if err != nil {
		lw.keep(err)
	}
	return err
}

// keep records err and gives the buffer a fresh start: the lines it held
// could not be written and are dropped, later ones are tried again.
func (lw *Writer) keep(err error) {
	if lw.err == nil {
		lw.err = err
	}
	lw.buf.Reset(lw.w)
}

func (lw *Writer) flushEvery(interval time.Duration) {
	defer close(lw.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-lw.stop:
			return
		case <-t.C:
			_ = lw.Flush() // a failure is kept in lw.err
		}
	}
}

// Close stops the periodic flush and writes out what is buffered. It
// returns the first error the underlying writer gave, if any. Writes after
// Close are still accepted and buffered; call Flush for them.
func (lw *Writer) Close() error {
	close(lw.stop)
	<-lw.done
	lw.mu.Lock()
	defer lw.mu.Unlock()
	_ = lw.flushLocked() // a failure is kept in lw.err
	return lw.err
}
