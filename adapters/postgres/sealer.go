package postgres

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Sealer encrypts secrets before they reach the database (AES-256-GCM).
// A sealed value is keyID(4) ‖ nonce(12) ‖ ciphertext+tag; the key id lets
// a rotated key keep opening old values until they are re-sealed.
type Sealer struct {
	current keyEntry
	old     []keyEntry
}

type keyEntry struct {
	id   [4]byte
	aead cipher.AEAD
}

// ParseKey reads a 32-byte key given as 64 hex characters or base64.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("want 32 bytes as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)")
}

// NewSealer seals with key and also opens values sealed with any of previous.
func NewSealer(key []byte, previous ...[]byte) (*Sealer, error) {
	entry := func(k []byte) (keyEntry, error) {
		if len(k) != 32 {
			return keyEntry{}, fmt.Errorf("secrets key: %d bytes, want 32", len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return keyEntry{}, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return keyEntry{}, err
		}
		sum := sha256.Sum256(k)
		var id [4]byte
		copy(id[:], sum[:4])
		return keyEntry{id: id, aead: aead}, nil
	}
	cur, err := entry(key)
	if err != nil {
		return nil, err
	}
	s := &Sealer{current: cur}
	for _, k := range previous {
		e, err := entry(k)
		if err != nil {
			return nil, err
		}
		s.old = append(s.old, e)
	}
	return s, nil
}

// Seal encrypts plaintext; aad binds it to its place (e.g. the tenant id),
// so a sealed value copied to another row does not open.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, s.current.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append(append(s.current.id[:], nonce...), s.current.aead.Seal(nil, nonce, plaintext, aad)...)
	return out, nil
}

var errUnseal = errors.New("sealed value does not open with any configured key")

// Open decrypts a value made by Seal with the current or a previous key.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 4+12+16 {
		return nil, errUnseal
	}
	for _, e := range append([]keyEntry{s.current}, s.old...) {
		if [4]byte(sealed[:4]) != e.id {
			continue
		}
		ns := e.aead.NonceSize()
		return e.aead.Open(nil, sealed[4:4+ns], sealed[4+ns:], aad)
	}
	return nil, errUnseal
}
