package idgen

import (
	"sync"
	"testing"
	"time"
)

func TestGen_Monotonic(t *testing.T) {
	g := New(5)
	clock := time.UnixMilli(Epoch + 1000)
	g.now = func() time.Time { return clock }
	prev := int64(0)
	for i := range 10000 {
		if i == 5000 {
			clock = clock.Add(-time.Second) // clock steps back
		}
		id := g.Next()
		if id <= prev {
			t.Fatalf("id %d not above %d at %d", id, prev, i)
		}
		prev = id
	}
}

func TestGen_ConcurrentUnique(t *testing.T) {
	g := New(1)
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]int64, 0, 5000)
			for range 5000 {
				local = append(local, g.Next())
			}
			mu.Lock()
			for _, id := range local {
				if seen[id] {
					t.Errorf("duplicate %d", id)
				}
				seen[id] = true
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
}

func TestTime_RoundTrip(t *testing.T) {
	now := time.Now().Truncate(time.Millisecond)
	g := New(MaxNode)
	g.now = func() time.Time { return now }
	id := g.Next()
	if !Time(id).Equal(now) || FromTime(now) > id || FromTime(now.Add(time.Millisecond)) <= id {
		t.Fatalf("time round trip: %v %v", Time(id), now)
	}
	if id < 1e17 {
		t.Fatalf("id %d is not the size Easemob IDs are", id)
	}
}
