package repo

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Page sizes for every List method.
const (
	DefaultPageSize = 50  // used when PageRequest.Limit is 0
	MaxPageSize     = 500 // larger limits are clamped to this
)

// PageRequest asks for one page of a keyset-paginated list.
type PageRequest struct {
	Limit  int    // 0 means DefaultPageSize; values above MaxPageSize are clamped
	Cursor string // "" for the first page, else Page.Next of the previous page
}

// Page is one page of a list. Next is the opaque cursor of the following page,
// "" on the last page. Pages are stable: rows inserted or deleted elsewhere never
// make a later page repeat or skip a row that existed throughout.
type Page[T any] struct {
	Items []T
	Next  string
}

// cursorVersion prefixes every cursor so the format can change later.
const cursorVersion = "v1"

// EncodeCursor makes an opaque cursor for list (e.g. "projects") that resumes
// after key.
func EncodeCursor(list, key string) string {
	var buf [128]byte
	return encodeCursor(append(cursorPrefix(buf[:0], list), key...))
}

// EncodeUUIDCursor is EncodeCursor(list, id.String()) in one allocation.
func EncodeUUIDCursor(list string, id uuid.UUID) string {
	var buf [128]byte
	return encodeCursor(AppendUUID(cursorPrefix(buf[:0], list), id))
}

func cursorPrefix(b []byte, list string) []byte {
	b = append(b, cursorVersion...)
	b = append(b, '|')
	b = append(b, list...)
	return append(b, '|')
}

// encodeCursor returns raw in base64, allocating only the string.
func encodeCursor(raw []byte) string {
	var buf [192]byte
	return string(base64.RawURLEncoding.AppendEncode(buf[:0], raw))
}

// AppendUUID appends id in its canonical text form, lower-case
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, as id.String() would, without
// allocating.
func AppendUUID(b []byte, id uuid.UUID) []byte {
	var s [36]byte
	hex.Encode(s[0:8], id[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], id[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], id[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], id[8:10])
	s[23] = '-'
	hex.Encode(s[24:], id[10:])
	return append(b, s[:]...)
}

// MakeUUIDPage is MakePage for rows keyed by a UUID.
func MakeUUIDPage[T any](list string, rows []T, size int, key func(T) uuid.UUID) Page[T] {
	if len(rows) <= size {
		return Page[T]{Items: rows}
	}
	rows = rows[:size]
	return Page[T]{Items: rows, Next: EncodeUUIDCursor(list, key(rows[size-1]))}
}

// DecodeCursor returns the key a cursor made by EncodeCursor for the same list
// carries, "" for an empty cursor, and an ErrInvalid error naming "cursor" for
// anything else.
func DecodeCursor(list, cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", Invalid("cursor", "malformed cursor")
	}
	parts := strings.SplitN(string(raw), "|", 3)
	if len(parts) != 3 || parts[0] != cursorVersion || parts[1] != list || parts[2] == "" {
		return "", Invalid("cursor", "cursor does not belong to this list")
	}
	return parts[2], nil
}

// PageSize returns the number of rows to show for the request, or an ErrInvalid
// error for a negative limit.
func (r PageRequest) PageSize() (int, error) {
	switch {
	case r.Limit < 0:
		return 0, Invalid("limit", "must not be negative")
	case r.Limit == 0:
		return DefaultPageSize, nil
	case r.Limit > MaxPageSize:
		return MaxPageSize, nil
	}
	return r.Limit, nil
}

// MakePage turns rows fetched with a limit of size+1 into a page: when more than
// size rows came back, the extra one is dropped and Next resumes after the last
// row kept, using key to name it.
func MakePage[T any](list string, rows []T, size int, key func(T) string) Page[T] {
	if len(rows) <= size {
		return Page[T]{Items: rows}
	}
	rows = rows[:size]
	return Page[T]{Items: rows, Next: EncodeCursor(list, key(rows[size-1]))}
}

// UUIDPage reads a request for a list keyed by UUID: the page size and the
// UUID to resume after (uuid.Nil for the first page).
func UUIDPage(list string, r PageRequest) (int, uuid.UUID, error) {
	size, err := r.PageSize()
	if err != nil {
		return 0, uuid.Nil, err
	}
	key, err := DecodeCursor(list, r.Cursor)
	if err != nil || key == "" {
		return size, uuid.Nil, err
	}
	id, err := uuid.Parse(key)
	if err != nil {
		return 0, uuid.Nil, Invalid("cursor", "malformed cursor")
	}
	return size, id, nil
}

// AuditPage reads a request for a page of audit events: the page size and the
// sequence number to resume from (exclusive; 0 or math.MaxInt64 for the first
// page, by the filter's order).
func AuditPage(f AuditFilter, r PageRequest) (int, int64, error) {
	size, err := r.PageSize()
	if err != nil {
		return 0, 0, err
	}
	first := int64(0)
	if f.Descending {
		first = math.MaxInt64
	}
	key, err := DecodeCursor("audit_events", r.Cursor)
	if err != nil || key == "" {
		return size, first, err
	}
	seq, err := strconv.ParseInt(key, 10, 64)
	if err != nil || seq < 0 {
		return 0, 0, Invalid("cursor", "malformed cursor")
	}
	return size, seq, nil
}

// AuditSeqRange narrows [lo, hi], the sequence numbers a page of audit
// events may come from, to those after the cursor seq AuditPage returned
// (before it, when f is Descending): one lower and one upper bound, so that
// a scan starts where the page does.
func AuditSeqRange(f AuditFilter, cursor, lo, hi int64) (int64, int64) {
	if f.Descending {
		return lo, min(hi, cursor-1)
	}
	return max(lo, cursor+1), hi
}
