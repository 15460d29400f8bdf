package mailer

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// QueueOptions configure a Queue. Zero values take the defaults.
type QueueOptions struct {
	// Size is how many messages may wait; Enqueue drops beyond it.
	// Default 100.
	Size int
	// Attempts is how many times a message is tried before it is given
	// up (and logged). Default 4.
	Attempts int
	// Backoff is the wait before the second attempt; it doubles for each
	// later one. Default 2s.
	Backoff time.Duration
	// Timeout bounds one attempt. Default 30s.
	Timeout time.Duration
	// Log receives failures and drops; never message bodies. Default
	// slog.Default().
	Log *slog.Logger
}

// ErrQueueFull is returned by Enqueue when Size messages are waiting.
var ErrQueueFull = errors.New("mailer: queue full")

// ErrClosed is returned by Enqueue after Close.
var ErrClosed = errors.New("mailer: queue closed")

// A Queue delivers messages in the background through a Sender, so a
// request never waits for a mail server: Enqueue returns at once, and a
// single worker sends with retries and exponential backoff. Close stops
// intake and waits for what is queued.
type Queue struct {
	sender Sender
	opts   QueueOptions
	ch     chan Message

	mu     sync.RWMutex // guards closed against sends on ch
	closed bool

	stop context.CancelFunc // cuts backoff waits and attempts short at Close's deadline
	ctx  context.Context
	done chan struct{}
}

// NewQueue starts a queue in front of s. Call Close to stop it.
func NewQueue(s Sender, o QueueOptions) *Queue {
	if o.Size <= 0 {
		o.Size = 100
	}
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	q := &Queue{sender: s, opts: o, ch: make(chan Message, o.Size), ctx: ctx, stop: stop, done: make(chan struct{})}
	go q.run()
	return q
}

// Enqueue hands m to the worker without waiting. It returns ErrQueueFull
// or ErrClosed when m will not be sent, and a check error for a message
// no server would accept.
func (q *Queue) Enqueue(m Message) error {
	if err := m.check(); err != nil {
		return err
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return ErrClosed
	}
	select {
	case q.ch <- m:
		return nil
	default:
		q.opts.Log.Error("mail dropped: queue full", "size", q.opts.Size)
		return ErrQueueFull
	}
}

func (q *Queue) run() {
	defer close(q.done)
	for m := range q.ch {
		q.deliver(m)
	}
}

// deliver tries m up to Attempts times, waiting Backoff, 2×Backoff, …
// between tries.
func (q *Queue) deliver(m Message) {
	wait := q.opts.Backoff
	var err error
	for attempt := 1; attempt <= q.opts.Attempts; attempt++ {
		ctx, cancel := context.WithTimeout(q.ctx, q.opts.Timeout)
		err = q.sender.Send(ctx, m)
		cancel()
		if err == nil {
			return
		}
		if attempt == q.opts.Attempts || q.ctx.Err() != nil {
			break
		}
		q.opts.Log.Warn("mail not sent; will retry", "attempt", attempt, "retry_in", wait, "error", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-q.ctx.Done():
			t.Stop()
		}
		wait *= 2
	}
	// The subject says which mail it was; the body may hold a token.
	q.opts.Log.Error("mail not sent; giving up", "subject", m.Subject, "error", err)
}

// Close stops accepting messages and waits until the queued ones are
// delivered or given up, or until ctx ends: then retries stop, the
// message in flight is abandoned and the rest are logged as lost.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
	q.mu.Unlock()
	select {
	case <-q.done:
		q.stop()
		return nil
	case <-ctx.Done():
		q.stop()
		<-q.done
		return ctx.Err()
	}
}
