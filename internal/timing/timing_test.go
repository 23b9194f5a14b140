package timing

import (
	"context"
	"testing"
	"time"
)

func TestRecorder(t *testing.T) {
	if From(context.Background()) != nil {
		t.Error("a recorder in an empty context")
	}
	var nilRec *Recorder
	nilRec.Record("page", "hit", time.Millisecond) // no panic
	rec := &Recorder{}
	ctx := With(context.Background(), rec)
	From(ctx).Record("page", "miss", 1500*time.Microsecond)
	From(ctx).Record("frag", `side"bar hit`, 20*time.Microsecond)
	want := `page;desc="miss";dur=1.500, frag;desc="side_bar hit";dur=0.020`
	if got := rec.Header(); got != want {
		t.Errorf("Header = %q, want %q", got, want)
	}
}
