package alert

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/logging"
)

// hookServer is a webhook receiver: it fails the first failures posts and
// records the notices it accepts.
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	failures int
	posts    int
	got      []Notice
	bodies   []string
	stall    chan struct{} // when set, requests wait for it
}

func newHook(t *testing.T, failures int) *hookServer {
	h := &hookServer{failures: failures}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		stall := h.stall
		h.posts++
		fail := h.posts <= h.failures
		h.mu.Unlock()
		if stall != nil {
			select {
			case <-stall:
			case <-r.Context().Done():
				return
			}
		}
		if fail {
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		var n Notice
		if json.Unmarshal(body, &n) != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.got, h.bodies = append(h.got, n), append(h.bodies, string(body))
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) notices() []Notice {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Notice(nil), h.got...)
}

type events struct {
	mu  sync.Mutex
	got []string
}

func (e *events) record(_ context.Context, jobID, level, typ, msg string, _ map[string]any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, level+" "+typ+" "+msg)
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.got...)
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "timed out")
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSenderRetriesInOrder: a webhook that fails twice gets the notice on
// the third try, and the resolved notice after the firing one.
func TestSenderRetriesInOrder(t *testing.T) {
	t.Parallel()
	h := newHook(t, 2)
	var ev events
	s := NewSender(logging.Discard(), ev.record)
	s.Backoff = time.Millisecond
	defer s.Close(time.Second)
	j := NewJob("job-1", &job.Spec{Name: "shop", Alerts: job.Alerts{Error: true, Webhooks: []string{h.URL + "/hook?token=secret"}}}, s, ev.record)
	j.Failed("connect to the source: refused", map[string]any{"code": "Unavailable"})
	j.Running()
	waitUntil(t, func() bool { return len(h.notices()) == 2 })
	got := h.notices()
	require.Equal(t, []string{"error:firing", "error:resolved"}, kinds(got))
	require.Equal(t, "job-1", got[0].JobID)
	require.Equal(t, NoticeVersion, got[0].V)
	require.Equal(t, "Unavailable", got[0].Details["code"])
	waitUntil(t, func() bool { return len(ev.list()) == 4 })
	for _, e := range ev.list() {
		require.NotContains(t, e, "secret", "events never show the webhook's query")
	}
	require.Contains(t, strings.Join(ev.list(), "\n"), "warning alert_firing error alert firing: the job failed: connect to the source: refused")
}

// TestSenderGivesUpAndNeverBlocks: a webhook that hangs does not block
// Send, times out per attempt, is given up after its attempts with an
// event; another webhook still gets its notices meanwhile.
func TestSenderGivesUpAndNeverBlocks(t *testing.T) {
	t.Parallel()
	dead := newHook(t, 0)
	dead.stall = make(chan struct{})
	defer close(dead.stall)
	live := newHook(t, 0)
	var ev events
	s := NewSender(logging.Discard(), ev.record)
	s.Timeout, s.Attempts, s.Backoff, s.Queue = 50*time.Millisecond, 2, time.Millisecond, 3
	defer s.Close(time.Second)
	n := Notice{V: NoticeVersion, Kind: KindMismatch, State: StateFiring, JobID: "j"}
	start := time.Now()
	for range 10 {
		s.Send(n, []string{dead.URL, live.URL})
	}
	require.Less(t, time.Since(start), time.Second, "Send never waits for a webhook")
	waitUntil(t, func() bool { return len(live.notices()) >= 3 })
	waitUntil(t, func() bool { return strings.Contains(strings.Join(ev.list(), "\n"), "alert_failed") })
	all := strings.Join(ev.list(), "\n")
	require.Contains(t, all, "alert_dropped", "a full queue drops with an event")
	require.Contains(t, all, "after 2 attempts: no answer within 50ms")
}

// TestNoticeCarriesNoSecrets: the body is the notice only.
func TestNoticeCarriesNoSecrets(t *testing.T) {
	t.Parallel()
	h := newHook(t, 0)
	s := NewSender(logging.Discard(), nil)
	defer s.Close(time.Second)
	spec := &job.Spec{Name: "shop", Source: job.Endpoint{Password: job.Secret("hunter2")},
		Alerts: job.Alerts{Delay: job.DelayAlert{ThresholdSeconds: 1}, Webhooks: []string{h.URL}}}
	j := NewJob("j", spec, s, nil)
	j.Delay(5*time.Second, true)
	waitUntil(t, func() bool { return len(h.notices()) == 1 })
	h.mu.Lock()
	body := h.bodies[0]
	h.mu.Unlock()
	require.NotContains(t, body, "hunter2")
	require.Contains(t, body, `"kind":"delay"`)
}

func TestRedact(t *testing.T) {
	require.Equal(t, "https://hooks.example/x", Redact("https://user:pw@hooks.example/x?token=t#f"))
}
