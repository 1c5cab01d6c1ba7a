package httpapi

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"strings"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// IdempotencyKeyHeader carries a client's key for a change (the IETF
// httpapi draft's Idempotency-Key): a retry of the change under the same
// key gets the first answer again instead of a second change. See
// package service for the rules; the transport parses the key and
// fingerprints the request.
const IdempotencyKeyHeader = "Idempotency-Key"

// maxIdempotencyKeyLen bounds a key, as Stripe's API does.
const maxIdempotencyKeyLen = 255

// withIdempotencyKey gives p the Idempotency-Key of a mutating request, if
// it has one, and the request's fingerprint: a SHA-256 of its method, path
// and body, which it reads (within the body limit) and puts back for the
// handler. Reads ignore the header.
func (s *server) withIdempotencyKey(w http.ResponseWriter, r *http.Request, p service.Principal) (service.Principal, error) {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return p, nil
	}
	values := r.Header.Values(IdempotencyKeyHeader)
	if len(values) == 0 {
		return p, nil
	}
	if len(values) > 1 {
		return p, repo.Invalid(IdempotencyKeyHeader, "send one key")
	}
	key, err := parseIdempotencyKey(values[0])
	if err != nil {
		return p, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		return p, jsonError(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.EscapedPath() + "\n"))
	h.Write(body)
	p.IdempotencyKey = key
	h.Sum(p.Fingerprint[:0])
	return p, nil
}

// parseIdempotencyKey reads a key sent as a structured-field string
// ("..." with \" and \\ escapes, as the draft has it) or as a bare token:
// 1 to 255 printable ASCII characters, no spaces outside quotes.
func parseIdempotencyKey(v string) (string, error) {
	bad := repo.Invalid(IdempotencyKeyHeader,
		`must be 1 to %d printable ASCII characters, bare or as a quoted string ("..."); a UUID is best`, maxIdempotencyKeyLen)
	v = strings.Trim(v, " \t")
	var key strings.Builder
	if rest, quoted := strings.CutPrefix(v, `"`); quoted {
		closed := false
		for i := 0; i < len(rest) && !closed; i++ {
			switch c := rest[i]; {
			case c == '"':
				if i != len(rest)-1 {
					return "", bad
				}
				closed = true
			case c == '\\':
				if i++; i == len(rest) || rest[i] != '"' && rest[i] != '\\' {
					return "", bad
				}
				key.WriteByte(rest[i])
			case c < 0x20 || c > 0x7e:
				return "", bad
			default:
				key.WriteByte(c)
			}
		}
		if !closed {
			return "", bad
		}
	} else {
		for i := range len(v) {
			if v[i] <= 0x20 || v[i] > 0x7e {
				return "", bad
			}
		}
		key.WriteString(v)
	}
	if key.Len() == 0 || key.Len() > maxIdempotencyKeyLen {
		return "", bad
	}
	return key.String(), nil
}
