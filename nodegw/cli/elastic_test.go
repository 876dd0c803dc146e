package cli

import (
	"testing"
	"time"

	"gatewave.dev/nodegw/pool"
)

// --standard-min and --burst-min: none given is a fixed pool; one given
// makes that class elastic (the other keeps its count as its minimum); a
// minimum above the count is the count.
func TestElasticPoolFlags(t *testing.T) {
	classes := func() []pool.Class {
		return []pool.Class{{Name: "standard", Count: 4}, {Name: "burst", Count: 6}}
	}
	if e := elasticPool(classes(), -1, -1, time.Minute, time.Hour); e != nil {
		t.Fatalf("no minimum given: %+v, want a fixed pool", e)
	}
	cs := classes()
	e := elasticPool(cs, 1, -1, time.Minute, time.Hour)
	if e == nil || e.CoolDown != time.Minute || e.Window != time.Hour {
		t.Fatalf("elastic options %+v", e)
	}
	if cs[0].Min != 1 || cs[1].Min != 6 {
		t.Fatalf("minimums %d and %d, want 1 and 6", cs[0].Min, cs[1].Min)
	}
	cs = classes()
	elasticPool(cs, 9, 0, 0, 0)
	if cs[0].Min != 4 || cs[1].Min != 0 {
		t.Fatalf("minimums %d and %d, want 4 (capped) and 0", cs[0].Min, cs[1].Min)
	}
}
