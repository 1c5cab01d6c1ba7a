package audit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// chainPages streams org's events after seq from, in ascending order, to fn,
// a page at a time, each event once, until the chain ends or List or fn
// fails. Once the chain proves longer than a page, it reads up to a few
// pages at once (List calls of their own, on connections of their own):
// reading and decoding rows is most of the cost of verifying a chain, and it
// runs in parallel while fn checks the pages in order. Memory holds at most
// a few pages.
//
// Page k is the first repo.MaxPageSize events after seq from+k*MaxPageSize.
// On an intact chain the pages tile it exactly; where events are missing, a
// page runs on past the start of the next one, whose first events are then
// the ones already passed on, and are skipped.
func chainPages(ctx context.Context, events repo.AuditEvents, orgID uuid.UUID, from int64, fn func([]repo.AuditEvent) error) error {
	readers := min(max(2, runtime.GOMAXPROCS(0)), 4)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	type page struct {
		items []repo.AuditEvent
		err   error
	}
	var inFlight []chan page // in page order
	k := int64(0)            // the next page to read
	read := func() {
		cursor := repo.EncodeCursor("audit_events", strconv.FormatInt(from+k*repo.MaxPageSize, 10))
		k++
		out := make(chan page, 1)
		inFlight = append(inFlight, out)
		wg.Go(func() {
			sent := false
			defer func() {
				if !sent { // List called runtime.Goexit (a failed test's mock, say)
					out <- page{err: errors.New("audit: list events: the page read did not return")}
				}
			}()
			p, err := events.List(ctx, orgID, repo.AuditFilter{}, repo.PageRequest{Limit: repo.MaxPageSize, Cursor: cursor})
			out <- page{p.Items, err}
			sent = true
		})
	}
	read()       // the rest only once the chain proves longer than a page
	last := from // the last seq passed to fn
	for {
		p := <-inFlight[0]
		inFlight = inFlight[1:]
		if p.err != nil {
			return fmt.Errorf("audit: list events: %w", p.err)
		}
		items := p.items
		for len(items) > 0 && items[0].Seq <= last {
			items = items[1:]
		}
		if len(items) > 0 {
			if err := fn(items); err != nil {
				return err
			}
			last = items[len(items)-1].Seq
		}
		if len(p.items) < repo.MaxPageSize {
			return nil // the end of the chain
		}
		for len(inFlight) < readers {
			read()
		}
	}
}
