package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	neturl "net/url"
	"sync"
	"time"
)

// Recorder writes a job event (control.Service.Event has this shape).
type Recorder func(ctx context.Context, jobID, level, typ, message string, details map[string]any)

// Sender posts notices to webhooks in the background. Each webhook has a
// queue of its own, delivered in order (a "resolved" never overtakes its
// "firing") by one goroutine, so a slow or dead webhook delays only its
// own notices. Send never blocks: when a webhook's queue is full the
// notice is dropped and an event says so. A delivery is retried with
// exponential backoff (Attempts times, each attempt bounded by Timeout);
// any 2xx answer is success. Safe for concurrent use.
type Sender struct {
	// Timeout bounds one attempt (default 10 s); Attempts is the tries per
	// notice (default 5); Backoff the wait after the first failed try,
	// doubling after each (default 1 s, at most 1 min).
	Timeout  time.Duration
	Attempts int
	Backoff  time.Duration
	// Queue is the notices a webhook may have waiting (default 100).
	Queue int

	client *http.Client
	log    *slog.Logger
	record Recorder

	mu     sync.Mutex
	hooks  map[string]*hook
	closed bool
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type hook struct {
	url string
	in  chan delivery
}

type delivery struct {
	n    Notice
	body []byte
}

// NewSender returns a sender; record (nil: none) receives an event for
// every notice delivered or given up on.
func NewSender(log *slog.Logger, record Recorder) *Sender {
	ctx, cancel := context.WithCancel(context.Background())
	return &Sender{client: &http.Client{}, log: log.With("component", "alerts"), record: record,
		hooks: map[string]*hook{}, ctx: ctx, cancel: cancel}
}

func (s *Sender) defaults() {
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Second
	}
	if s.Attempts <= 0 {
		s.Attempts = 5
	}
	if s.Backoff <= 0 {
		s.Backoff = time.Second
	}
	if s.Queue <= 0 {
		s.Queue = 100
	}
}

// Send queues n for each webhook and returns at once.
func (s *Sender) Send(n Notice, webhooks []string) {
	body, err := json.Marshal(n)
	if err != nil {
		s.log.Error("encode alert", "err", err) // plain fields: cannot happen
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.defaults()
	for _, w := range webhooks {
		h := s.hooks[w]
		if h == nil {
			h = &hook{url: w, in: make(chan delivery, s.Queue)}
			s.hooks[w] = h
			s.wg.Add(1)
			go s.run(h)
		}
		select {
		case h.in <- delivery{n: n, body: body}:
		default:
			s.log.Warn("alert dropped: the webhook's queue is full", "webhook", Redact(w), "kind", n.Kind, "state", n.State)
			s.event(n, "error", "alert_dropped", fmt.Sprintf("%s alert (%s) not sent to %s: too many alerts waiting for it", n.Kind, n.State, Redact(w)), w)
		}
	}
}

// Close stops the deliveries: it waits up to wait for the queued notices
// to go out, then abandons the rest.
func (s *Sender) Close(wait time.Duration) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for _, h := range s.hooks {
		close(h.in)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
		s.cancel()
		<-done
	}
	s.cancel()
}

func (s *Sender) run(h *hook) {
	defer s.wg.Done()
	for d := range h.in {
		s.deliver(h.url, d)
	}
}

// deliver posts one notice, retrying with backoff.
func (s *Sender) deliver(url string, d delivery) {
	wait := s.Backoff
	var last error
	for attempt := 1; attempt <= s.Attempts; attempt++ {
		if last = s.post(url, d.body); last == nil {
			s.event(d.n, "info", "alert_sent", fmt.Sprintf("%s alert (%s) sent to %s", d.n.Kind, d.n.State, Redact(url)), url)
			return
		}
		if attempt == s.Attempts {
			break
		}
		select {
		case <-time.After(wait):
		case <-s.ctx.Done():
			return
		}
		wait = min(2*wait, time.Minute)
	}
	s.log.Warn("alert not delivered", "webhook", Redact(url), "kind", d.n.Kind, "state", d.n.State, "attempts", s.Attempts, "err", last)
	s.event(d.n, "error", "alert_failed", fmt.Sprintf("%s alert (%s) could not be sent to %s after %d attempts: %v",
		d.n.Kind, d.n.State, Redact(url), s.Attempts, last), url)
}

func (s *Sender) post(url string, body []byte) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "dts-alerts/1")
	resp, err := s.client.Do(req)
	if err != nil {
		// The URL may carry a token: the error names the redacted one.
		if ctx.Err() != nil {
			return fmt.Errorf("no answer within %s", s.Timeout)
		}
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post to %s: %w", Redact(url), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

func (s *Sender) event(n Notice, level, typ, msg, url string) {
	if s.record == nil {
		return
	}
	s.record(context.Background(), n.JobID, level, typ, msg,
		map[string]any{"kind": n.Kind, "state": n.State, "webhook": Redact(url)})
}
