// Package api serves dts's REST API under /v1: JSON in and out, coded errors
// mapped to statuses in one table (errors.go), DTOs that never carry a
// password (views.go), and the OpenAPI document of it all (openapi.yaml).
package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dtsorg/dts/internal/control"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/logging"
)

// Options configure a Server.
type Options struct {
	// Token, when set, is required as "Authorization: Bearer <token>" on every request.
	Token   string
	Version string
	Logger  *slog.Logger
	// Registry collects the server's metrics; a new one is made when nil.
	Registry *prometheus.Registry
}

// Server is the HTTP face of a control.Service.
type Server struct {
	svc      *control.Service
	token    string
	version  string
	log      *slog.Logger
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	mux      *http.ServeMux
}

// New returns a server for svc.
func New(svc *control.Service, o Options) *Server {
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
		o.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{
		svc: svc, token: o.Token, version: o.Version, log: o.Logger.With("component", "api"), registry: o.Registry,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dts_api_requests_total", Help: "API requests by route and status.",
		}, []string{"route", "status"}),
		mux: http.NewServeMux(),
	}
	o.Registry.MustRegister(s.requests)
	s.routes()
	return s
}

// Routes lists every route the server serves, as "METHOD /path" patterns;
// the OpenAPI document must describe exactly these (tested).
var Routes = []string{
	"GET /healthz",
	"GET /metrics",
	"GET /v1/openapi.yaml",
	"POST /v1/jobs",
	"GET /v1/jobs",
	"GET /v1/jobs/{id}",
	"PUT /v1/jobs/{id}",
	"DELETE /v1/jobs/{id}",
	"POST /v1/jobs/{id}/action",
	"GET /v1/jobs/{id}/events",
	"GET /v1/jobs/{id}/operations",
	"GET /v1/jobs/{id}/compares",
	"GET /v1/jobs/{id}/compares/{cid}",
	"GET /v1/jobs/{id}/compares/{cid}/repair.sql",
	"GET /v1/jobs/{id}/precheck",
	"GET /v1/operations/{id}",
	"POST /v1/connections/test",
}

func (s *Server) routes() {
	handlers := map[string]http.HandlerFunc{
		"GET /healthz":                 s.health,
		"GET /metrics":                 promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}).ServeHTTP,
		"GET /v1/openapi.yaml":         serveOpenAPI,
		"POST /v1/jobs":                s.createJob,
		"GET /v1/jobs":                 s.listJobs,
		"GET /v1/jobs/{id}":            s.getJob,
		"PUT /v1/jobs/{id}":            s.updateJob,
		"DELETE /v1/jobs/{id}":         s.deleteJob,
		"POST /v1/jobs/{id}/action":    s.action,
		"GET /v1/jobs/{id}/events":     s.events,
		"GET /v1/jobs/{id}/operations": s.operations,
		"GET /v1/jobs/{id}/precheck":   s.getPrecheck,
		"GET /v1/operations/{id}":      s.getOperation,
		"POST /v1/connections/test":    s.testConnection,
	}
	maps.Copy(handlers, s.compareHandlers())
	for _, route := range Routes {
		s.mux.Handle(route, s.instrument(route, handlers[route]))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errs.New("NotFound", "no such endpoint: %s %s; see /v1/openapi.yaml", r.Method, r.URL.Path))
	})
}

// ServeHTTP runs every request through request ids, logging and auth.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 || hasControl(id) {
		id = newRequestID()
	}
	ctx := context.WithValue(r.Context(), requestIDKey{}, id)
	ctx = logging.WithAttrs(ctx, slog.String("request_id", id))
	r = r.WithContext(ctx)
	w.Header().Set("X-Request-Id", id)

	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	start := time.Now()
	defer func() {
		s.log.InfoContext(ctx, "request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000)
	}()
	if !s.authorized(r) {
		rec.Header().Set("WWW-Authenticate", `Bearer realm="dts"`)
		s.writeError(rec, r, errs.New(errs.Unauthorized, "a valid API token is required").
			WithFix("send the header Authorization: Bearer <token> (dts CLI: --token or DTS_API_TOKEN)"))
		return
	}
	s.mux.ServeHTTP(rec, r)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) == 1
}

func (s *Server) instrument(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, _ := w.(*statusRecorder)
		h(w, r)
		if rec != nil {
			s.requests.WithLabelValues(route, http.StatusText(rec.status)).Inc()
		}
	})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
}

type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "req-" + hex.EncodeToString(b)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// readBody reads a request body up to the job document limit.
func readBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, job.MaxDocumentBytes+1))
	if err != nil {
		return nil, errs.Wrap(err, errs.InvalidParameter, "read request body")
	}
	if len(data) > job.MaxDocumentBytes {
		return nil, errs.New("RequestTooLarge", "the request body is larger than %d bytes", job.MaxDocumentBytes)
	}
	return data, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // an error here means the client went away: nobody is left to tell
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}
