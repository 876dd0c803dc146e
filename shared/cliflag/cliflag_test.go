package cliflag

import (
	"flag"
	"io"
	"testing"
)

func TestFlags(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var origins Strings
	labels := KeyValues{}
	fs.Var(&origins, "allow-origin", "")
	fs.Var(labels, "label", "")
	if err := fs.Parse([]string{"--allow-origin", "a", "--label", "role=dev", "--allow-origin", "b", "--label", "zone=x=y"}); err != nil {
		t.Fatal(err)
	}
	if origins.String() != "a,b" || labels.String() != "role=dev,zone=x=y" {
		t.Fatalf("%q %q", origins.String(), labels.String())
	}
	for _, bad := range []string{"novalue", "=v"} {
		if err := fs.Parse([]string{"--label", bad}); err == nil {
			t.Errorf("--label %q accepted", bad)
		}
	}
}
