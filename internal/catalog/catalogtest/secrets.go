package catalogtest

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/secret"
)

func testSpecRoundTrip(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	j := createJob(t, s, "job-1", "orders")
	want := specText(t, j.Spec)

	got, err := s.GetJob(ctx, "job-1")
	require.NoError(t, err)
	require.Equal(t, want, specText(t, got.Spec), "the spec comes back byte for byte, key order included")
	require.Equal(t, []string{"zeta", "alpha", "crm_*"}, got.Spec.Objects.Keys())
	alpha, _ := got.Spec.Objects.Get("alpha")
	orders, _ := alpha.Tables.Get("orders")
	require.Equal(t, []string{"z_col", "a_col"}, orders.Columns.Keys())
	require.Equal(t, sourcePassword, got.Spec.Source.Password.Reveal())
	require.Equal(t, targetPassword, got.Spec.Target.Password.Reveal())

	jobs, err := s.ListJobs(ctx)
	require.NoError(t, err)
	require.Equal(t, want, specText(t, jobs[0].Spec))
	_, err = s.UpdateJob(ctx, "job-1", func(j *catalog.Job) error {
		require.Equal(t, want, specText(t, j.Spec), "fn sees the spec with its passwords")
		return nil
	})
	require.NoError(t, err)
	got, err = s.GetJobByName(ctx, "orders")
	require.NoError(t, err)
	require.Equal(t, want, specText(t, got.Spec), "an update that leaves the spec keeps it")
}

func testPasswordsSealed(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	const rotated = "rotated-pw-Qz8m-plaintext"
	createJob(t, s, "job-1", "orders")
	createJob(t, s, "job-2", "invoices")
	_, err := s.UpdateJob(ctx, "job-2", func(j *catalog.Job) error {
		j.Spec.Target.Password = rotated
		return nil
	})
	require.NoError(t, err)

	raw := h.Raw(t)
	require.True(t, bytes.Contains(raw, []byte("db1.example")), "Raw must return the stored data")
	for _, pw := range []string{sourcePassword, targetPassword, rotated} {
		require.False(t, bytes.Contains(raw, []byte(pw)), "password %q is stored in plaintext", pw)
	}
}

func testWrongKey(t *testing.T, h Harness) {
	ctx := t.Context()
	orig := createJob(t, h.Store, "job-1", "orders")
	other := h.Reopen(t, newBox(t))

	_, err := other.GetJob(ctx, "job-1")
	requireSecretError(t, err)
	_, err = other.GetJobByName(ctx, "orders")
	requireSecretError(t, err)
	_, err = other.ListJobs(ctx)
	requireSecretError(t, err)
	_, err = other.UpdateJob(ctx, "job-1", func(*catalog.Job) error { t.Error("fn called with an unreadable spec"); return nil })
	requireSecretError(t, err)

	got, err := h.Store.GetJob(ctx, "job-1")
	require.NoError(t, err)
	requireSameJob(t, orig, got)
}

// requireSecretError checks a secret that does not open is a coded error
// that tells the user what to do, and leaks nothing.
func requireSecretError(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	e, ok := errs.As(err)
	require.True(t, ok, "not a coded error: %v", err)
	require.NotEmpty(t, e.Fix)
	require.NotContains(t, err.Error(), sourcePassword)
}

func newBox(t *testing.T) *secret.Box {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secret.NewBox(key)
	require.NoError(t, err)
	return box
}
