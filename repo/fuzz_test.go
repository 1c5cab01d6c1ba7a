package repo_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// wantInvalid fails t unless err is an ErrInvalid error naming field.
func wantInvalid(t *testing.T, err error, field, input string) {
	t.Helper()
	if repo.KindOf(err) != repo.ErrInvalid || repo.FieldOf(err) != field {
		t.Fatalf("%q: error %v (kind %v, field %q), want ErrInvalid naming %q", input, err, repo.KindOf(err), repo.FieldOf(err), field)
	}
}

// FuzzCursor: DecodeCursor never panics, refuses with an ErrInvalid naming
// "cursor", and accepts only cursors that carry the list's name and a key,
// which EncodeCursor turns back into the same payload. Every cursor
// EncodeCursor makes decodes to its key for its own list and for no other.
func FuzzCursor(f *testing.F) {
	for _, seed := range []struct{ list, key, cursor string }{
		{"projects", "01900000-0000-7000-8000-000000000001", repo.EncodeCursor("projects", "01900000-0000-7000-8000-000000000001")},
		{"audit_events", "42", repo.EncodeCursor("audit_events", "42")},
		{"projects", "k", repo.EncodeCursor("roles", "k")},
		{"projects", "a|b", repo.EncodeCursor("projects", "a|b")},
		{"projects", "", "garbage"},
		{"projects", "", "djF8cHJvamVjdHN8"}, // v1|projects| : no key
		{"projects", "", "djJ8cHJvamVjdHN8YQ"},
		{"projects", "", "djF8cHJvamVjdHN8YQ=="},
		{"projects", "", "djF8cHJvamVj\ndHN8YQ"},
		{"", "", ""},
		{"audit_events", "-1", repo.EncodeCursor("audit_events", "-1")},
		{"audit_events", "9223372036854775808", repo.EncodeCursor("audit_events", "9223372036854775808")},
	} {
		f.Add(seed.list, seed.key, seed.cursor)
	}
	f.Fuzz(func(t *testing.T, list, key, cursor string) {
		got, err := repo.DecodeCursor(list, cursor)
		switch {
		case err != nil:
			wantInvalid(t, err, "cursor", cursor)
		case cursor == "":
			if got != "" {
				t.Fatalf("empty cursor gave key %q", got)
			}
		default:
			if got == "" {
				t.Fatalf("cursor %q accepted with an empty key", cursor)
			}
			payload, _ := base64.RawURLEncoding.DecodeString(cursor)
			again, _ := base64.RawURLEncoding.DecodeString(repo.EncodeCursor(list, got))
			if !bytes.Equal(payload, again) || !bytes.HasPrefix(payload, []byte("v1|"+list+"|")) {
				t.Fatalf("cursor %q for %q: payload %q, re-encoded %q", cursor, list, payload, again)
			}
		}

		// Lists are names without '|'; keys are anything but "".
		if strings.Contains(list, "|") || key == "" {
			return
		}
		enc := repo.EncodeCursor(list, key)
		if got, err := repo.DecodeCursor(list, enc); err != nil || got != key {
			t.Fatalf("EncodeCursor(%q, %q) = %q decodes to %q, %v", list, key, enc, got, err)
		}
		if _, err := repo.DecodeCursor(list+"x", enc); err == nil {
			t.Fatalf("a cursor of %q is accepted for %q", list, list+"x")
		}
		sum := sha256.Sum256([]byte(key))
		id := uuid.UUID(sum[:16])
		if a, b := repo.EncodeUUIDCursor(list, id), repo.EncodeCursor(list, id.String()); a != b {
			t.Fatalf("EncodeUUIDCursor(%q, %v) = %q, EncodeCursor gives %q", list, id, a, b)
		}

		// The paging helpers judge cursors the same way and never panic.
		for _, f := range []repo.AuditFilter{{}, {Descending: true}} {
			if size, seq, err := repo.AuditPage(f, repo.PageRequest{Cursor: cursor}); err != nil {
				wantInvalid(t, err, "cursor", cursor)
			} else if size != repo.DefaultPageSize || seq < 0 {
				t.Fatalf("AuditPage(%q) = %d, %d", cursor, size, seq)
			}
		}
		if _, _, err := repo.UUIDPage("projects", repo.PageRequest{Cursor: cursor}); err != nil {
			wantInvalid(t, err, "cursor", cursor)
		}
	})
}

var slugForm = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// FuzzValidateSlug: a slug is accepted exactly when it matches the
// documented form; a refusal is an ErrInvalid naming "slug".
func FuzzValidateSlug(f *testing.F) {
	for _, s := range []string{"acme", "acme-2", "a", "0", "-acme", "acme-", "Acme", "ac me", "ac_me",
		strings.Repeat("a", 63), strings.Repeat("a", 64), "", "é", "a\x00", "a--b", "ａcme"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := repo.ValidateSlug(s)
		if len(s) > 2*repo.MaxSlugLen {
			// Too long to match; skipping the regexp keeps long inputs from
			// looking interesting (their minimization would eat the time).
			if err == nil {
				t.Fatalf("accepted a slug of %d bytes", len(s))
			}
			wantInvalid(t, err, "slug", s)
			return
		}
		if (err == nil) != slugForm.MatchString(s) {
			t.Fatalf("ValidateSlug(%q) = %v, but the form says %v", s, err, slugForm.MatchString(s))
		}
		if err != nil {
			wantInvalid(t, err, "slug", s)
		}
	})
}

// FuzzValidateEmail: an accepted email is a bare address net/mail parses to
// itself, with exactly one '@', a non-empty local part and domain, at most
// 254 bytes of valid UTF-8, that the schema's check (3 to 254 characters,
// '@' after the first) accepts too. A refusal is an ErrInvalid naming "email".
func FuzzValidateEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", "Ada.Lovelace+x@example.com", "a@b", "@b", "a@", "a@@b",
		`"a@b"@c.com`, `"ab"@c.com`, "Ada <ada@example.com>", "a@[192.0.2.1]", "a b@c", "ädä@exämple.com",
		"a@b\x00", "a@b\xff", strings.Repeat("a", 250) + "@b.c", "a(comment)@b", "a@b.c ", " a@b.c", "a.@b", "a..b@c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := repo.ValidateEmail(s)
		if err != nil {
			wantInvalid(t, err, "email", s)
			return
		}
		local, domain, _ := strings.Cut(s, "@")
		if strings.Count(s, "@") != 1 || local == "" || domain == "" {
			t.Fatalf("accepted %q: want exactly one '@' between a local part and a domain", s)
		}
		if len(s) > repo.MaxEmailLen || len(s) < 3 || !utf8.ValidString(s) {
			t.Fatalf("accepted %q: %d bytes, valid UTF-8 %v", s, len(s), utf8.ValidString(s))
		}
		addr, err := mail.ParseAddress(s)
		if err != nil || addr.Address != s || addr.Name != "" {
			t.Fatalf("accepted %q, which net/mail parses to %+v, %v", s, addr, err)
		}
	})
}
