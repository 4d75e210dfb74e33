package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/errs"
)

func noEnv(string) (string, bool) { return "", false }

func TestSealIsBoundToItsContext(t *testing.T) {
	t.Parallel()
	box, err := NewBox(bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	sealed := box.Seal([]byte("hunter2"), "job-1")
	require.NotContains(t, sealed, "hunter2")
	require.NotEqual(t, sealed, box.Seal([]byte("hunter2"), "job-1"), "a fresh nonce every time")
	plain, err := box.Open(sealed, "job-1")
	require.NoError(t, err)
	require.Equal(t, "hunter2", string(plain))

	_, err = box.Open(sealed, "job-2")
	require.Equal(t, errs.Internal, errs.CodeOf(err), "a ciphertext moved to another job does not open")
	other, _ := NewBox(bytes.Repeat([]byte{2}, 32))
	_, err = other.Open(sealed, "job-1")
	require.ErrorContains(t, err, "secret key changed")
	_, err = box.Open("v1:!!!", "job-1")
	require.Error(t, err)
	_, err = NewBox([]byte("short"))
	require.Error(t, err)
}

func TestLoadKeyCreatesAPrivateKeyFileOnce(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	key, err := LoadKey(dir, noEnv)
	require.NoError(t, err)
	require.Len(t, key, 32)
	info, err := os.Stat(filepath.Join(dir, KeyFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	again, err := LoadKey(dir, noEnv)
	require.NoError(t, err)
	require.Equal(t, key, again, "the file is read, not replaced")

	require.NoError(t, os.Chmod(filepath.Join(dir, KeyFile), 0o644))
	_, err = LoadKey(dir, noEnv)
	require.Equal(t, errs.InvalidParameter, errs.CodeOf(err))
	require.Contains(t, err.Error(), "chmod 600")
}

func TestLoadKeyFromEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := func(v string) func(string) (string, bool) {
		return func(name string) (string, bool) { return v, name == KeyEnv }
	}
	b64 := "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	key, err := LoadKey(dir, env(b64))
	require.NoError(t, err)
	require.Equal(t, bytes.Repeat([]byte{1}, 32), key)
	key, err = LoadKey(dir, env(strings.Repeat("01", 32)))
	require.NoError(t, err)
	require.Equal(t, bytes.Repeat([]byte{1}, 32), key)
	_, err = os.Stat(filepath.Join(dir, KeyFile))
	require.True(t, os.IsNotExist(err), "no key file when the environment has the key")

	_, err = LoadKey(dir, env("too-short"))
	require.Equal(t, errs.InvalidParameter, errs.CodeOf(err))
	require.Contains(t, err.Error(), "openssl rand -base64 32")
}
