package sqliterepo_test

import (
	"errors"
	"testing"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/sqliterepo"
)

func TestCodeError(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		name      string
		code      int
		onDelete  bool
		kind      error
		retryable bool
	}{
		{"unique", 2067, false, repo.ErrConflict, false},
		{"primary key", 1555, false, repo.ErrConflict, false},
		{"foreign key on insert", 787, false, repo.ErrNotFound, false},
		{"foreign key on delete", 787, true, repo.ErrConflict, false},
		{"check", 275, false, repo.ErrInvalid, false},
		{"not null", 1299, false, repo.ErrInvalid, false},
		{"trigger", 1811, false, repo.ErrConflict, false},
		{"busy", 5, false, repo.ErrUnavailable, true},
		{"busy recovery", 261, false, repo.ErrUnavailable, true},
		{"busy snapshot", 517, false, repo.ErrUnavailable, true},
		{"busy timeout", 773, false, repo.ErrUnavailable, true},
		{"locked", 6, false, repo.ErrUnavailable, true},
		{"locked shared cache", 262, false, repo.ErrUnavailable, true},
		{"full", 13, false, repo.ErrUnavailable, false},
		{"readonly", 8, false, repo.ErrUnavailable, false},
		{"readonly db moved", 1032, false, repo.ErrUnavailable, false},
		{"ioerr", 10, false, repo.ErrUnavailable, false},
		{"ioerr read", 266, false, repo.ErrUnavailable, false},
		{"cantopen", 14, false, repo.ErrUnavailable, false},
		{"plain constraint", 19, false, repo.ErrInternal, false},
		{"generic error", 1, false, repo.ErrInternal, false},
		{"corrupt", 11, false, repo.ErrInternal, false},
		{"interrupt", 9, false, repo.ErrInternal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sqliterepo.CodeError(tt.code, tt.onDelete, cause)
			if got := repo.KindOf(err); got != tt.kind {
				t.Errorf("code %d: kind %v, want %v", tt.code, got, tt.kind)
			}
			if err.Retryable != tt.retryable {
				t.Errorf("code %d: retryable %v, want %v", tt.code, err.Retryable, tt.retryable)
			}
			if !errors.Is(err, cause) {
				t.Errorf("code %d: cause not kept in Err", tt.code)
			}
		})
	}
}
