package flight

import (
	"sync"
	"testing"
)

func TestGroup(t *testing.T) {
	var g Group[int]
	f, leader := g.Join("k")
	if !leader {
		t.Fatal("first Join does not lead")
	}
	var wg sync.WaitGroup
	for range 8 {
		w, leads := g.Join("k")
		if leads || w != f {
			t.Fatal("second Join leads or joins another flight")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-w.Done()
			if w.Result() != 42 {
				t.Errorf("result %d", w.Result())
			}
		}()
	}
	if g.Len() != 1 {
		t.Errorf("Len = %d", g.Len())
	}
	g.Finish("k", f, 42)
	wg.Wait()
	if g.Len() != 0 {
		t.Errorf("Len after Finish = %d", g.Len())
	}
	if _, leader := g.Join("k"); !leader {
		t.Error("a Join after Finish does not lead a new flight")
	}
}
