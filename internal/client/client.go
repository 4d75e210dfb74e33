// Package client is the Go client of dts's REST API, used by the CLI.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dtsorg/dts/internal/api"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// Client talks to one dts server.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for the server at base (http://host:port).
func New(base, token string) *Client {
	return &Client{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: 60 * time.Second}}
}

// CreateJob creates a job from a spec.
func (c *Client) CreateJob(ctx context.Context, spec *job.Spec) (*api.JobView, error) {
	var out api.JobView
	return &out, c.do(ctx, http.MethodPost, "/v1/jobs", spec, &out)
}

// ListJobs lists every job.
func (c *Client) ListJobs(ctx context.Context) ([]api.JobView, error) {
	var out struct {
		Jobs []api.JobView `json:"jobs"`
	}
	return out.Jobs, c.do(ctx, http.MethodGet, "/v1/jobs", nil, &out)
}

// GetJob returns a job by id or name.
func (c *Client) GetJob(ctx context.Context, id string) (*api.JobView, error) {
	var out api.JobView
	return &out, c.do(ctx, http.MethodGet, "/v1/jobs/"+url.PathEscape(id), nil, &out)
}

// DeleteJob deletes a job.
func (c *Client) DeleteJob(ctx context.Context, id string, force bool) error {
	return c.do(ctx, http.MethodDelete, fmt.Sprintf("/v1/jobs/%s?force=%t", url.PathEscape(id), force), nil, nil)
}

// Action applies an action to a job.
func (c *Client) Action(ctx context.Context, id, action string, params map[string]any) (*api.ActionResponse, error) {
	req := map[string]any{"action": action}
	if len(params) > 0 {
		req["params"] = params
	}
	var out api.ActionResponse
	return &out, c.do(ctx, http.MethodPost, "/v1/jobs/"+url.PathEscape(id)+"/action", req, &out)
}

// Operation returns an operation.
func (c *Client) Operation(ctx context.Context, id string) (*api.OperationView, error) {
	var out api.OperationView
	return &out, c.do(ctx, http.MethodGet, "/v1/operations/"+url.PathEscape(id), nil, &out)
}

// Events returns a job's events after an event id.
func (c *Client) Events(ctx context.Context, id string, after int64) ([]api.EventView, error) {
	var out struct {
		Events []api.EventView `json:"events"`
	}
	return out.Events, c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/jobs/%s/events?after=%d&limit=1000", url.PathEscape(id), after), nil, &out)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return errs.Wrap(err, errs.InvalidParameter, "server address %q", c.base)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return errs.Wrap(err, errs.Unavailable, "cannot reach the dts server at %s", c.base).
			WithFix("start it with dts server, or point --server / DTS_SERVER at it")
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		return decodeError(resp.StatusCode, data)
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", method, path, err)
	}
	return nil
}

// decodeError turns an API error answer back into a coded error.
func decodeError(status int, data []byte) error {
	var body struct {
		Code      string            `json:"code"`
		Message   string            `json:"message"`
		RequestID string            `json:"request_id"`
		Fix       string            `json:"fix"`
		Fields    []errs.FieldError `json:"fields"`
		Details   map[string]any    `json:"details"`
	}
	if err := json.Unmarshal(data, &body); err != nil || body.Code == "" {
		return errs.New(errs.Internal, "the server answered %d: %.200s", status, data)
	}
	e := &errs.Error{Code: body.Code, Message: body.Message, Fix: body.Fix, Fields: body.Fields, Details: body.Details}
	if body.RequestID != "" {
		e.WithDetail("request_id", body.RequestID)
	}
	return e
}
