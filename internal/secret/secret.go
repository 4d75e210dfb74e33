// Package secret seals passwords at rest with AES-256-GCM.
//
// The key comes from DTS_SECRET_KEY (32 bytes, base64 or hex) or from a key
// file in the data directory, created with mode 0600 on first use. Sealed
// values are bound to a context (the job id) so one job's ciphertext cannot be
// pasted into another job's row.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dtsorg/dts/internal/errs"
)

// KeyEnv is the environment variable that holds the key.
const KeyEnv = "DTS_SECRET_KEY"

// KeyFile is the key file's name inside the data directory.
const KeyFile = "secret.key"

const prefix = "v1:"

// Box seals and opens secrets. It is safe for concurrent use.
type Box struct{ aead cipher.AEAD }

// NewBox returns a box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret: key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain, bound to context.
func (b *Box) Seal(plain []byte, context string) string {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("secret: read random nonce: %v", err)) // crypto/rand never fails on Linux
	}
	out := b.aead.Seal(nonce, nonce, plain, []byte(context))
	return prefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a sealed value bound to context.
func (b *Box) Open(sealed, context string) ([]byte, error) {
	raw, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return nil, errors.New("secret: unknown sealed format")
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return nil, errors.New("secret: sealed value is corrupt")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, data[:n], data[n:], []byte(context))
	if err != nil {
		return nil, errs.New(errs.Internal, "a stored secret cannot be decrypted: the secret key changed or the catalog was altered").
			WithFix("start dts server with the %s or %s it was created with", KeyEnv, KeyFile)
	}
	return plain, nil
}

// LoadKey returns the key from the environment (lookup) or from the key file
// in dataDir, creating the file with mode 0600 when neither exists. A key file
// readable by others is refused.
func LoadKey(dataDir string, lookup func(string) (string, bool)) ([]byte, error) {
	if v, ok := lookup(KeyEnv); ok && v != "" {
		key, err := parseKey(strings.TrimSpace(v))
		if err != nil {
			return nil, errs.New(errs.InvalidParameter, "%s is not a 32-byte key in base64 or hex", KeyEnv).
				WithFix("generate one with: openssl rand -base64 32")
		}
		return key, nil
	}
	path := filepath.Join(dataDir, KeyFile)
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return createKeyFile(path)
	case err != nil:
		return nil, fmt.Errorf("secret: stat key file: %w", err)
	case info.Mode().Perm()&0o077 != 0:
		return nil, errs.New(errs.InvalidParameter, "the key file %s is readable by other users (mode %04o)", path, info.Mode().Perm()).
			WithFix("chmod 600 %s", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret: read key file: %w", err)
	}
	key, err := parseKey(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, errs.New(errs.InvalidParameter, "the key file %s does not hold a 32-byte key", path)
	}
	return key, nil
}

func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("secret: create data directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("secret: create key file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	serr := f.Sync()
	if err := errors.Join(werr, serr, f.Close()); err != nil {
		return nil, fmt.Errorf("secret: write key file: %w", err)
	}
	return key, nil
}

func parseKey(s string) ([]byte, error) {
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	if k, err := hex.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	return nil, errors.New("not a 32-byte key")
}
