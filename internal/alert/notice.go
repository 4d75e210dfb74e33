// Package alert raises a job's alerts (the job file's alerts section): the
// replication delay staying over a threshold, the job failing, a compare
// or the continuous verification finding rows that differ. Each condition
// is an episode: its first observation sends one "firing" notice, its end
// one "resolved" notice, nothing in between. Notices go to every webhook
// of the job as JSON (Sender), in the background: an alert never waits for
// a webhook, and a webhook that is down never slows the job.
//
// A notice says what happened in the job's terms (its id, name, phase,
// delay, table names) and never carries the job's configuration, so no
// password can leak through it.
package alert

import (
	"net/url"
	"time"
)

// Kinds of alerts.
const (
	KindDelay    = "delay"            // delay over alerts.delay.threshold_seconds for for_seconds
	KindError    = "error"            // the job failed (alerts.error)
	KindMismatch = "compare_mismatch" // a compare or check.incremental found differing rows
)

// States of a notice.
const (
	StateFiring   = "firing"
	StateResolved = "resolved"
)

// NoticeVersion versions the webhook body: receivers parse it.
const NoticeVersion = 1

// Notice is one alert message: the JSON body posted to the webhooks.
type Notice struct {
	V     int    `json:"v"`
	Kind  string `json:"kind"`
	State string `json:"state"`
	JobID string `json:"job_id"`
	Job   string `json:"job"`
	// Message says what happened, for people.
	Message string `json:"message"`
	// At is when this notice was raised; Since when its episode began.
	At    time.Time `json:"at"`
	Since time.Time `json:"since"`
	// Details are the figures behind it (delay_seconds, threshold_seconds,
	// error code, compare id, tables...).
	Details map[string]any `json:"details,omitempty"`
}

// Redact returns a webhook URL fit for logs and events: without user
// information and query (either may hold a token).
func Redact(hook string) string {
	u, err := url.Parse(hook)
	if err != nil {
		return "(invalid URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
