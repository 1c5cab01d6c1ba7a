package httpapi_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"testing"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// FuzzAuthenticateKey presents keys to the real service over SQLite: the
// input as it is, as the secret of a real key's ID, and spliced into the
// real key. Only the real key (or its ID spelled in upper case) gets in;
// everything else is ErrUnauthenticated, never another error.
func FuzzAuthenticateKey(f *testing.F) {
	ctx := context.Background()
	db := testdb.Open(f, repo.SQLite)
	svc := service.New(db, rbac.New(db.RoleBindings(), rbac.Options{}), service.Options{})
	_, key, err := svc.Bootstrap(ctx, service.BootstrapInput{OrgSlug: "acme", Email: "owner@acme.test"}, service.Request{})
	if err != nil {
		f.Fatal(err)
	}
	real := key.Secret
	prefix := real[:len(real)-43] // strata_<id>_
	for _, s := range []string{"", real[len(real)-43:], real, "strata_", prefix, "A", "\x00", real[:len(real)-1], "strata__",
		"strata_" + real[7:39] + "_" + real[40:] + "=", "ZZZZ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		at := 0
		if len(s) > 0 {
			at = int(s[0]) % len(real)
		}
		for _, presented := range []string{s, prefix + s, real[:at] + s + real[min(len(real), at+len(s)):]} {
			_, err := svc.Authenticate(ctx, presented, service.Request{})
			switch {
			case err == nil && !sameKey(presented, real):
				t.Fatalf("%q authenticated; only %q should", presented, real)
			case err != nil && sameKey(presented, real):
				t.Fatalf("the real key was refused: %v", err)
			case err != nil && repo.KindOf(err) != repo.ErrUnauthenticated:
				t.Fatalf("%q: %v, want ErrUnauthenticated", presented, err)
			}
		}
	})
}

// sameKey reports whether presented is key, its ID's hex digits in either case.
func sameKey(presented, key string) bool {
	if len(presented) != len(key) || presented[:7] != key[:7] || presented[39:] != key[39:] {
		return false
	}
	id, err := hex.DecodeString(presented[7:39])
	want, _ := hex.DecodeString(key[7:39])
	return err == nil && bytes.Equal(id, want)
}
